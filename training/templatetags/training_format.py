"""How training figures read on a page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.template.defaultfilters import floatformat

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
