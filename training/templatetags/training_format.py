"""How training figures read on a page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import ngettext

from training.selectors import waiting_time

register = template.Library()


@register.filter
def reading(value: Any) -> str:
    """A KPI reading as it was entered, in the page's number format: 9.500 reads 9.5, 12.000
    reads 12, 0.125 stays 0.125 (stored with three decimals, shown with the ones it has)."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    exponent = number.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return floatformat(number, places)


@register.filter
def waited(enrolment: Any) -> str:
    """How long an enrolment waited for its cohort, in days: "waiting 12 days", "placed after
    3 days"; empty when it never waited (declined or withdrawn before a cohort)."""
    duration = waiting_time(enrolment)
    if duration is None:
        return ""
    days = duration.days
    if enrolment.placed_at is None:
        return ngettext("waiting %(n)s day", "waiting %(n)s days", days) % {"n": days}
    return ngettext("placed after %(n)s day", "placed after %(n)s days", days) % {"n": days}
