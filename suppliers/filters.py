from __future__ import annotations

from typing import Any, ClassVar

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from suppliers.models import Factory


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
    sorts the names in the reader's language on every render: about 10 ms per page that shows
    the supplier filters. The escaped options are kept per language (the list is fixed for the
    life of the process); each render only marks the chosen one.
    """

    _options: ClassVar[dict[str, list[tuple[str, str]]]] = {}

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        language = get_language() or ""
        options = self._options.get(language)
        if options is None:
            options = [(escape(str(v)), escape(str(label))) for v, label in self.choices]
            self._options[language] = options
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


class FactoryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    country = django_filters.ChoiceFilter(
        label=_("Country"), choices=countries, widget=CountrySelect
    )

    class Meta:
        model = Factory
        fields = ["q", "country"]

    def search(self, queryset: QuerySet[Factory], name: str, value: str) -> QuerySet[Factory]:
        value = value.strip()[:200]
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(name_latin__icontains=value)
            | Q(city__icontains=value)
            | Q(os_id__iexact=value)
        )
