"""Figures as each language writes them."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import formats
from django.utils.translation import pgettext

register = template.Library()


@register.filter
def percent(value: Any) -> str:
    """A percentage in the page's language: "20%" in English, "%20" in Turkish, "20 %" in
    Spanish (the translators place the sign), the number in the locale's format."""
    if value is None or value == "":
        return "—"
    number = formats.number_format(value, force_grouping=True)
    # Translators: a percentage. Write the sign where your language puts it: English
    # "20%", Spanish "20 %" (with a no-break space), Turkish "%20".
    return pgettext("percentage", "%(number)s%%") % {"number": number}
