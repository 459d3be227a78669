from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from partners.models import Partnership
from score_portal.widgets import CountrySelect


class PartnershipFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=Partnership.Kind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Partnership.Status.choices)
    country = django_filters.ChoiceFilter(
        label=_("Country"), choices=countries, method="covers_country", widget=CountrySelect
    )

    class Meta:
        model = Partnership
        fields = ["status", "kind", "country"]

    def covers_country(
        self, queryset: QuerySet[Partnership], name: str, value: str
    ) -> QuerySet[Partnership]:
        # Countries are stored as "CN,TR": match a whole code, never a fragment.
        return queryset.filter(countries__regex=rf"(^|,){value}(,|$)")
