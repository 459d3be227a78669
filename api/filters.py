"""The API's filters (django-filter). The supplier search reuses the supplier list page's
(``suppliers.filters.FactoryFilter``): one rule for both."""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from partners.models import Partnership
from suppliers.filters import FactoryFilter
from suppliers.models import BrandSupplier, Factory
from training.models import Certificate, Cohort, Enrolment


class SupplierFilter(django_filters.FilterSet):
    country = django_filters.ChoiceFilter(
        field_name="factory__country", choices=countries, help_text=_("ISO 3166 code: CN, TR…")
    )
    q = django_filters.CharFilter(
        method="search",
        help_text=_("Name (any script), city, OS ID, or a name the factory was merged from."),
    )
    modified_since = django_filters.IsoDateTimeFilter(
        method="modified",
        help_text=_("Suppliers added, changed, or that left the list since (ISO 8601)."),
    )
    include_ended = django_filters.BooleanFilter(
        method="keep", help_text=_("Also suppliers that left the list (ended_at set).")
    )

    class Meta:
        model = BrandSupplier
        fields = ["country", "q", "modified_since", "include_ended"]

    def search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        found = FactoryFilter({"q": value}, queryset=Factory.objects.all(), request=self.request)
        return queryset.filter(factory_id__in=found.qs.values("pk"))

    def modified(
        self, queryset: QuerySet[Any], name: str, value: datetime.datetime
    ) -> QuerySet[Any]:
        return queryset.filter(
            Q(created_at__gte=value)
            | Q(changed_at__gte=value)
            | Q(ended_at__gte=value)
            | Q(factory__updated_at__gte=value)
        )

    def keep(self, queryset: QuerySet[Any], name: str, value: bool) -> QuerySet[Any]:
        return queryset  # the view reads it: which links are listed


class EnrolmentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Enrolment.Status.choices)
    module = django_filters.NumberFilter(field_name="module_id")
    module_code = django_filters.CharFilter(field_name="module__code")
    factory = django_filters.NumberFilter(field_name="factory_id")
    partnership = django_filters.NumberFilter(field_name="partnership_id")
    cohort = django_filters.NumberFilter(field_name="cohort_id")
    modified_since = django_filters.IsoDateTimeFilter(
        method="modified",
        help_text=_("Enrolments made, placed in a cohort, or whose status changed since."),
    )

    class Meta:
        model = Enrolment
        fields = ["status", "module", "module_code", "factory", "partnership", "cohort"]

    def modified(
        self, queryset: QuerySet[Any], name: str, value: datetime.datetime
    ) -> QuerySet[Any]:
        return queryset.filter(Q(status_changed_at__gte=value) | Q(placed_at__gte=value))


class CohortFilter(django_filters.FilterSet):
    module = django_filters.NumberFilter(field_name="module_id")
    starts_from = django_filters.DateFilter(field_name="classroom_start", lookup_expr="gte")

    class Meta:
        model = Cohort
        fields = ["module", "starts_from"]


class CertificateFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Certificate.Status.choices)
    enrolment = django_filters.NumberFilter(field_name="enrolment_id")

    class Meta:
        model = Certificate
        fields = ["status", "enrolment"]


class PartnershipFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Partnership.Status.choices)

    class Meta:
        model = Partnership
        fields = ["status"]
