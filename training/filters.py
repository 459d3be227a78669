"""Filters of the enrolment list, shared with the programme dashboards (reporting/), so a
figure and the list behind it select the same enrolments from the same query string."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from partners.models import Partner
from score_portal.scope import ANONYMOUS, Scope
from score_portal.widgets import CountrySelect
from training.models import Enrolment, KPIDefinition, Module


class DateInput(forms.DateInput):
    input_type = "date"


class EnrolmentFilter(django_filters.FilterSet):
    """Enrolments by when they were made (the period), the factory's country, the module,
    the funding partner, the cohort's service provider and the status.

    Choices follow the person's reach: funding partners and providers among those they
    see. ``kpi`` (enrolments with readings of a KPI) is the ILO's only: whether a factory
    recorded a KPI is its data too (README, "KPI privacy").
    """

    enrolled_from = django_filters.DateFilter(
        label=_("Enrolled from"),
        field_name="created_at__date",
        lookup_expr="gte",
        widget=DateInput,
    )
    enrolled_to = django_filters.DateFilter(
        label=_("Enrolled until"),
        field_name="created_at__date",
        lookup_expr="lte",
        widget=DateInput,
    )
    country = django_filters.ChoiceFilter(
        label=_("Country"), field_name="factory__country", choices=countries, widget=CountrySelect
    )
    module = django_filters.ModelChoiceFilter(label=_("Module"), queryset=Module.objects.all())
    partner = django_filters.ModelChoiceFilter(
        label=_("Funding partner"),
        queryset=Partner.objects.none(),
        method="funded_by",
    )
    provider = django_filters.ModelChoiceFilter(
        label=_("Service provider"), field_name="cohort__provider", queryset=Partner.objects.none()
    )
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=Enrolment.Status.choices, widget=forms.SelectMultiple
    )
    kpi = django_filters.ModelChoiceFilter(
        label=_("With readings of the KPI"), queryset=KPIDefinition.objects.all(), method="with_kpi"
    )

    class Meta:
        model = Enrolment
        fields = ["enrolled_from", "enrolled_to", "country", "module", "partner", "provider"]

    def __init__(self, *args: Any, scope: Scope = ANONYMOUS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        visible = Partner.objects.visible_to(scope)
        self.filters["partner"].queryset = visible.funding()
        providers = Partner.objects.filter(kind=Partner.Kind.SERVICE_PROVIDER)
        if not scope.sees_everything:
            seen = Enrolment.objects.visible_to(scope).exclude(cohort=None)
            providers = providers.filter(pk__in=seen.values("cohort__provider_id"))
        self.filters["provider"].queryset = providers
        if not scope.sees_everything:
            del self.filters["kpi"]

    def funded_by(
        self, queryset: QuerySet[Enrolment], name: str, value: Partner
    ) -> QuerySet[Enrolment]:
        """As the lead funder or a co-funder (README, "Co-funding")."""
        return queryset.funded_by(value.pk)

    def with_kpi(
        self, queryset: QuerySet[Enrolment], name: str, value: KPIDefinition
    ) -> QuerySet[Enrolment]:
        return queryset.filter(kpi_readings__kpi=value).distinct()

    def without(self, *names: str) -> EnrolmentFilter:
        """Drop filters a page fixes itself (the brand's dashboard: its own funding)."""
        for name in names:
            self.filters.pop(name, None)
        return self
