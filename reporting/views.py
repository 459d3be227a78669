"""The results dashboards: the ILO's programme and a brand's portfolio.

Both read the enrolments the person sees, narrowed by the enrolment list's own filters
(``training.filters.EnrolmentFilter``), so every figure links to the list behind it with
the same query string.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from partners.models import Partner
from partners.selectors import chosen_brand
from reporting import charts, figures, rollups
from score_portal.access import can_see_programme_results
from training.filters import EnrolmentFilter
from training.models import Enrolment, Participant

Link = Callable[..., str]


def _filtered(request: HttpRequest, *, fixed: tuple[str, ...] = ()) -> EnrolmentFilter:
    """The filters of the query string. Their queryset is built by ``_counted``, only when
    figures are counted: most requests read kept figures, and building a scoped, filtered
    queryset costs more than reading them."""
    # The status is the figures' own business (the funnel shows them all); a brand's
    # dashboard fixes the funding partner.
    query = request.GET.copy()
    for name in ("status", "kpi", "page", *fixed):
        query.pop(name, None)
    return EnrolmentFilter(query, queryset=Enrolment.objects.none(), scope=request.scope).without(
        "status", "kpi", *fixed
    )


def _counted(
    enrolment_filter: EnrolmentFilter, enrolments: Callable[[], QuerySet[Enrolment]]
) -> Callable[[], QuerySet[Enrolment]]:
    """``enrolments()`` narrowed by the filters (a field in error filters nothing)."""

    def build() -> QuerySet[Enrolment]:
        enrolment_filter.form.is_valid()
        return enrolment_filter.filter_queryset(enrolments())

    return build


def _applied(request: HttpRequest, enrolment_filter: EnrolmentFilter) -> QueryDict:
    """The filters the figures applied: a value in error filters nothing."""
    base = QueryDict(mutable=True)
    form = enrolment_filter.form
    form.is_valid()
    for name in enrolment_filter.filters:
        raw = request.GET.get(name)
        if raw and name not in form.errors and form.cleaned_data.get(name) not in (None, ""):
            base[name] = raw
    return base


def _list_links(
    request: HttpRequest, enrolment_filter: EnrolmentFilter, extra: dict[str, str]
) -> Link:
    """A function giving the enrolment list's URL for a figure: the filters the figures
    applied (a value in error filters nothing, here as there), the figure's statuses, and
    the brand's own funding."""
    base = _applied(request, enrolment_filter)
    base.update(extra)
    url = reverse("training:enrolment_list")

    def link(*, statuses: tuple[str, ...] = (), **more: str) -> str:
        query = base.copy()
        query.setlist("status", list(statuses))
        for key, value in more.items():
            query[key] = value
        encoded = query.urlencode()
        return f"{url}?{encoded}" if encoded else url

    return link


def _later(make: Callable[[], Any]) -> Any:
    """A context value made when the template first reads it: never, when the page's figures
    come from the fragment cache (charts are handed to ``json_script``: a callable, which
    the template calls; lists: a lazy object, read by ``if`` and ``for`` alike)."""
    return SimpleLazyObject(make)


def _common(found: dict[str, Any], link: Link) -> dict[str, Any]:
    stages = found["stages"]
    months = found["months"]
    people = found["participants"]
    return {
        "factories_reached": found["factories_reached"],
        "reached_link": link(statuses=figures.REACHED),
        "stages": _later(lambda: [(stage, link(statuses=stage.statuses)) for stage in stages]),
        "funnel_chart": functools.cache(lambda: charts.funnel(stages)),
        "months": months,
        "months_chart": functools.cache(lambda: charts.completions(months)),
        "completed_link": link(statuses=(Enrolment.Status.COMPLETED,)),
        "participants": people,
        "gender_labels": [label for _value, label in Participant.Gender.choices],
        "participants_chart": functools.cache(lambda: charts.participants(people)),
        "workforce": found["workforce"],
        "active_trainers": found["active_trainers"],
        "costs": found["costs"],
        "funded_link": link(statuses=Enrolment.ACTIVE_STATUSES),
    }


@login_required
@require_GET
def programme(request: HttpRequest) -> HttpResponse:
    """The ILO's programme dashboard; anyone else: 404, like any page out of reach."""
    scope = request.scope
    if not can_see_programme_results(scope):
        raise Http404
    enrolment_filter = _filtered(request)
    enrolments = _counted(enrolment_filter, lambda: Enrolment.objects.visible_to(scope))
    link = _list_links(request, enrolment_filter, {})
    filters = rollups.normalised_filters(
        _applied(request, enrolment_filter), list(enrolment_filter.filters)
    )
    enrolment_filter.form.is_valid()  # an invalid field filters nothing (and counts none)
    chosen = enrolment_filter.form.cleaned_data.get("partner")
    snapshot = rollups.programme(
        enrolments, scope, filters, partner_id=chosen.pk if chosen else None
    )
    found = rollups.in_language(snapshot)
    kpis = found["kpis"]
    context = _common(found, link)
    context.update(
        {
            **rollups.figures_as_of(snapshot),
            "filters_query": request.GET.urlencode(),
            "filter": enrolment_filter,
            "kpis": [(item, link(kpi=str(item.kpi.pk))) for item in kpis],
            "kpi_chart": functools.cache(lambda: charts.kpi_improved(kpis)),
        }
    )
    return render(request, "reporting/dashboard_programme.html", context)


@login_required
@require_GET
def portfolio(request: HttpRequest) -> HttpResponse:
    """A brand's (or initiative's) portfolio: the enrolments it funds, its supplier list's
    coverage, its partnerships, and KPI results under the privacy rule. A person of no
    brand, or asking for another's (``?brand=``): 404."""
    scope = request.scope
    brand: Partner | None = chosen_brand(scope, request.GET.get("brand"), acting=False)
    if brand is None:
        raise Http404
    enrolment_filter = _filtered(request, fixed=("partner",))
    # As lead funder or co-funder (README, "Co-funding").
    enrolments = _counted(
        enrolment_filter, lambda: Enrolment.objects.visible_to(scope).funded_by(brand.pk)
    )
    link = _list_links(request, enrolment_filter, {"partner": str(brand.pk)})
    enrolment_filter.form.is_valid()
    country = enrolment_filter.form.cleaned_data.get("country") or ""
    filters = rollups.normalised_filters(
        _applied(request, enrolment_filter), list(enrolment_filter.filters)
    )
    snapshot = rollups.portfolio(
        enrolments, scope, brand_id=brand.pk, country=country, filters=filters
    )
    found = rollups.in_language(snapshot)
    coverage = found["coverage"]
    kpis = found["brand_kpis"]
    # The brand switcher, for a person of several brands (one brand: no query).
    several = len(scope.funding_ids) > 1
    brands = (
        list(Partner.objects.filter(pk__in=scope.funding_ids).order_by("name")) if several else []
    )
    context = _common(found, link)
    context.update(
        {
            **rollups.figures_as_of(snapshot),
            "filters_query": request.GET.urlencode(),
            "brand": brand,
            "brands": brands if len(brands) > 1 else [],
            "filter": enrolment_filter,
            "coverage": _later(
                lambda: [
                    {
                        **vars(row),
                        "share_enrolled": row.share_enrolled,
                        "share_completed": row.share_completed,
                        "country_name": charts.country_name(row.country),
                        "enrolled_link": link(
                            statuses=Enrolment.ACTIVE_STATUSES, country=row.country
                        ),
                        "completed_link": link(
                            statuses=(Enrolment.Status.COMPLETED,), country=row.country
                        ),
                    }
                    for row in coverage
                ]
            ),
            "coverage_chart": functools.cache(lambda: charts.coverage(coverage)),
            # The partnerships the reader sees (their ledgers, kept with the page for them).
            "ledgers": _later(lambda: figures.partnership_ledgers(scope, brand_id=brand.pk)),
            "kpis": [
                {
                    "kpi": item.kpi,
                    "groups": [
                        (_("Shared their readings with you"), item.shared),
                        (_("Did not share them"), item.unshared),
                    ],
                }
                for item in kpis
            ],
            "k": figures.k_anonymity(),
        }
    )
    return render(request, "reporting/dashboard_portfolio.html", context)
