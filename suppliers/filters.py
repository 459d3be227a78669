from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from score_portal.widgets import CountrySelect
from suppliers.models import Factory, FactoryAlias
from suppliers.selectors import alias_reach


class FactoryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    country = django_filters.ChoiceFilter(
        label=_("Country"), choices=countries, widget=CountrySelect
    )

    ended = django_filters.BooleanFilter(
        label=_("Also suppliers that left your list"),
        method="keep",
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = Factory
        fields = ["q", "country", "ended"]

    def keep(self, queryset: QuerySet[Factory], name: str, value: bool) -> QuerySet[Factory]:
        return queryset  # the view reads it: which links are shown

    def search(self, queryset: QuerySet[Factory], name: str, value: str) -> QuerySet[Factory]:
        value = value.strip()[:200]
        if not value:
            return queryset
        # Names and identifiers of records merged into a factory find it too (a supplier
        # code only for its own brand).
        scope = getattr(self.request, "scope", None)
        aliases = FactoryAlias.objects.filter(
            Q(kind=FactoryAlias.Kind.NAME, value__icontains=value)
            | (~Q(kind=FactoryAlias.Kind.NAME) & Q(value__iexact=value))
        )
        aliases = aliases.filter(alias_reach(scope)) if scope is not None else aliases.none()
        return queryset.filter(
            Q(name__icontains=value)
            | Q(name_latin__icontains=value)
            | Q(city__icontains=value)
            | Q(os_id__iexact=value)
            | Q(pk__in=aliases.values("factory_id"))
        )
