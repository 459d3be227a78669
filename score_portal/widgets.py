"""Form widgets the apps share."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language


def _attrs_html(attrs: dict[str, Any]) -> str:
    """What django/forms/widgets/attrs.html writes, in Python."""
    return "".join(
        format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
        for name, value in attrs.items()
        if value is not False
    )


class CountrySelect(forms.Select):
    """The country ``<select>``: Django's HTML, without a template include per option.

    Django renders each of the ~250 ``<option>``s through its own template and django-countries
    sorts the names in the reader's language on every render: 10–20 ms per page that shows a
    country filter. The escaped options are kept per language and first choice (the empty
    one a filter adds, or none): the country list is fixed for the life of the process, so
    use this widget for the whole list only. Each render only marks the chosen one.
    """

    _options: ClassVar[dict[tuple[str, str], list[tuple[str, str]]]] = {}

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        first = next(iter(self.choices), None)  # cheap: the whole list is sorted on demand
        key = (get_language() or "", str(first[1]) if first else "")
        options = self._options.get(key)
        if options is None:
            options = [(escape(str(v)), escape(str(label))) for v, label in self.choices]
            self._options[key] = options
        chosen = {"" if v is None else str(v) for v in self.format_value(value)}
        parts = [
            format_html('<select name="{}"', name),
            _attrs_html(self.build_attrs(self.attrs, attrs)),
            ">",
        ]
        for option_value, label in options:
            selected = " selected" if option_value in chosen else ""
            parts.append(f'\n  <option value="{option_value}"{selected}>{label}</option>\n')
        parts.append("\n</select>")
        return mark_safe("".join(parts))
