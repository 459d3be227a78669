"""The dashboards as pages: who may open them, what the filters do, where each figure links,
and a brand's KPI results under the privacy rule of training/impact.py."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reporting import figures
from suppliers.services import link_supplier
from tests.conftest import client_for
from tests.factories import FactoryFactory
from tests.tenancy import status_for
from training.impact import kpi_impact
from training.models import Enrolment, KPIConsent, KPIReading
from training.services import enrol_factory

pytestmark = pytest.mark.django_db

PROGRAMME = reverse("reporting:programme")
PORTFOLIO = reverse("reporting:portfolio")


def test_the_ilo_sees_the_programme_with_charts_tables_and_links(programme, ilo_admin):
    response = client_for(ilo_admin).get(PROGRAMME)
    assert response.status_code == 200
    page = response.text
    assert response.context["factories_reached"] == 7
    for chart in ("funnel-data", "months-data", "people-data", "kpi-data"):
        assert f'data-chart="{chart}"' in page
        assert f'<script id="{chart}" type="application/json">' in page
    assert "<script>" not in page  # no inline script: the CSP stays strict
    assert " style=" not in page
    # Every figure links to the enrolments behind it.
    list_url = reverse("training:enrolment_list")
    assert page.count(f'href="{list_url}?') >= 10
    assert f'href="{list_url}?kpi={programme.productivity.pk}"' in page


def test_the_programme_filters_keep_their_values_and_change_the_figures(programme, ilo_admin):
    client = client_for(ilo_admin)
    response = client.get(PROGRAMME, {"country": "TR"})
    assert response.context["factories_reached"] == 3  # a8, b1 and b2 (a9 withdrew)
    assert response.context["filter"].form["country"].value() == "TR"
    assert 'value="TR" selected' in response.text
    # The links carry the filter.
    assert "country=TR" in response.context["reached_link"]
    # Nonsense in a filter is an error beside the field, never a 500, and filters nothing.
    response = client.get(PROGRAMME, {"module": "²", "enrolled_from": "yesterday"})
    assert response.status_code == 200
    assert response.context["factories_reached"] == figures.factories_reached(
        Enrolment.objects.all()
    )
    assert "errorlist" in response.text
    # A value in error beside a good one: the good one filters, figures and links alike.
    response = client.get(PROGRAMME, {"module": "²", "country": "TR"})
    assert response.context["factories_reached"] == 3
    assert "country=TR" in response.context["reached_link"]
    assert "module" not in response.context["reached_link"]


@pytest.mark.parametrize(
    "persona", ["brand_staff", "brand_viewer", "factory_manager", "trainer", "provider_staff"]
)
def test_the_programme_is_the_ilos_only(programme, persona, request):
    user = request.getfixturevalue(persona)
    assert client_for(user).get(PROGRAMME).status_code == 404


@pytest.mark.parametrize(
    ("persona", "programme_status", "portfolio_status"),
    [
        (None, 302, 302),
        ("ilo_admin", 200, 404),
        ("brand_staff", 404, 200),
        ("brand_viewer", 404, 200),
        ("other_brand_staff", 404, 200),
        ("provider_staff", 404, 404),
        ("trainer", 404, 404),
        ("factory_manager", 404, 404),
    ],
)
def test_who_opens_which_dashboard(world, request, persona, programme_status, portfolio_status):
    assert status_for(request, persona, PROGRAMME) == programme_status
    assert status_for(request, persona, PORTFOLIO) == portfolio_status


def test_anonymous_visitors_are_asked_to_sign_in(db):
    for url in (PROGRAMME, PORTFOLIO):
        response = client_for(None).get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")


def test_a_brand_sees_its_own_portfolio(programme, brand_staff):
    response = client_for(brand_staff).get(PORTFOLIO)
    assert response.status_code == 200
    assert response.context["brand"] == programme.brand
    # Brand B's enrolments (b1 completed, b2 in progress) are not counted.
    assert response.context["factories_reached"] == 5
    stages = {stage.key: stage.count for stage, _url in response.context["stages"]}
    assert stages["enrolled"] == Enrolment.objects.filter(partnership=programme.partnership).count()
    assert 'data-chart="coverage-data"' in response.text
    assert f"partner={programme.brand.pk}" in response.context["reached_link"]
    # Its partnerships with places and budget used; not brand B's.
    assert [p for p, _ledger in response.context["ledgers"]] == [programme.partnership]
    # No filter of the funding partner: the page fixes it.
    assert "partner" not in response.context["filter"].form.fields


def test_a_brand_filters_its_portfolio(programme, brand_staff):
    response = client_for(brand_staff).get(PORTFOLIO, {"country": "TR"})
    assert response.context["factories_reached"] == 1  # a8
    assert [row["country"] for row in response.context["coverage"]] == ["TR"]


def test_another_brand_and_other_people_get_404(
    programme, brand_staff, other_brand_staff, ilo_admin, factory_manager, trainer
):
    assert (
        client_for(brand_staff).get(PORTFOLIO, {"brand": programme.other_brand.pk}).status_code
        == 404
    )
    assert client_for(brand_staff).get(PORTFOLIO, {"brand": "²"}).status_code == 404
    response = client_for(other_brand_staff).get(PORTFOLIO)
    assert response.context["brand"] == programme.other_brand
    assert response.context["factories_reached"] == 2
    for user in (ilo_admin, factory_manager, trainer):
        assert client_for(user).get(PORTFOLIO).status_code == 404


def test_the_enrolment_list_filters_like_the_dashboards(programme, ilo_admin, brand_staff):
    url = reverse("training:enrolment_list")
    response = client_for(ilo_admin).get(
        url, {"country": "TR", "status": ["completed", "in_progress"]}
    )
    shown = {e.pk for e in response.context["page"].object_list}
    expected = {
        e.pk
        for e in programme.enrolments
        if e.factory.country == "TR" and e.status in ("completed", "in_progress")
    }
    assert shown == expected and len(expected) == 3
    # A brand cannot reach another brand's enrolments through a filter.
    response = client_for(brand_staff).get(url, {"partner": programme.other_brand.pk})
    shown = {e.partnership_id for e in response.context["page"].object_list}
    assert shown == {programme.partnership.pk}
    assert "kpi" not in response.context["filter"].form.fields


# --- KPI results under the privacy rule ------------------------------------------------------


def _kpi_section(response) -> str:
    match = re.search(r'<h2 id="kpis">.*', response.text, re.S)
    assert match
    return match.group(0)


def _supplier(programme, baseline, follow_up, *, shared=False):
    factory = FactoryFactory()
    link_supplier(brand=programme.brand, factory=factory, supplier_code=f"K{factory.pk}")
    enrolment = enrol_factory(
        factory=factory, module=programme.m1, partnership=programme.partnership, enrolled_by=None
    )
    today = datetime.date.today()
    KPIReading.objects.create(
        enrolment=enrolment, kpi=programme.absenteeism, kind="baseline",
        value=Decimal(baseline), measured_on=today - datetime.timedelta(days=50),
    )  # fmt: skip
    follow = KPIReading.objects.create(
        enrolment=enrolment, kpi=programme.absenteeism, kind="follow_up",
        value=Decimal(follow_up), measured_on=today - datetime.timedelta(days=20),
    )  # fmt: skip
    if shared:
        KPIConsent.objects.create(factory=factory, partner=programme.brand)
    return follow


def test_a_brands_kpi_results_are_training_impacts_figures(programme, brand_staff, settings):
    settings.KPI_MIN_FACTORIES = 3
    programme.partnership.factory_quota = 50
    programme.partnership.save()
    for base, after in (("5", "3"), ("6", "6"), ("4", "5")):
        _supplier(programme, base, after, shared=True)
    response = client_for(brand_staff).get(PORTFOLIO)
    results = {item["kpi"].code: item for item in response.context["kpis"]}
    impact = {item.kpi.code: item for item in kpi_impact(brand_id=programme.brand.pk)}
    assert set(results) == set(impact)
    shared = dict(results["absenteeism"]["groups"])
    group = next(iter(shared.values()))
    assert group.figure == impact["absenteeism"].shared.change
    # Median, quartiles and improved of exactly the factories the rule counts.
    changes = sorted(impact["absenteeism"].shared.change.values)
    assert changes == [Decimal(-2), Decimal(0), Decimal(1)]
    assert group.spread.median == Decimal(0)
    assert group.spread.improved == 1  # lower is better: only -2 improved
    # Brand A's own programme factories did not share: 4 report absenteeism (a1, a2, a8,
    # a4 without follow-up), so 3 with a change: one block of 3 is shown.
    unshared = list(shared.values())[1]
    assert unshared.figure == impact["absenteeism"].unshared.change


def test_an_unshared_factory_held_back_moves_nothing_on_the_page(programme, brand_staff, settings):
    """A newcomer outside a full block of K: whatever its value, the page is the same."""
    settings.KPI_MIN_FACTORIES = 3
    programme.partnership.factory_quota = 50
    programme.partnership.save()
    newcomer = _supplier(programme, "5", "1")
    before = _kpi_section(client_for(brand_staff).get(PORTFOLIO))
    for value in ("9", "0", "4.5"):
        KPIReading.objects.filter(pk=newcomer.pk).update(value=Decimal(value))
        assert _kpi_section(client_for(brand_staff).get(PORTFOLIO)) == before


def test_fewer_than_k_factories_withhold_the_figure(programme, brand_staff, settings):
    settings.KPI_MIN_FACTORIES = 5
    response = client_for(brand_staff).get(PORTFOLIO)
    for item in response.context["kpis"]:
        for _label, group in item["groups"]:
            assert group.spread is None
    assert "Withheld: fewer than 5 factories" in response.text


def test_a_brands_kpi_results_ignore_the_filters(programme, brand_staff, settings):
    """A figure over a subset beside one over all would be a difference of two sets."""
    settings.KPI_MIN_FACTORIES = 2
    client = client_for(brand_staff)
    everything = _kpi_section(client.get(PORTFOLIO))
    assert _kpi_section(client.get(PORTFOLIO, {"country": "TR"})) == everything


def _queries(client, url) -> int:
    """The queries of a page whose figures are counted afresh (none kept)."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_dashboards_cost_the_same_queries_as_rows_grow(programme, ilo_admin, brand_staff):
    ilo, brand = client_for(ilo_admin), client_for(brand_staff)
    before = (_queries(ilo, PROGRAMME), _queries(brand, PORTFOLIO))
    programme.partnership.factory_quota = 50
    programme.partnership.save()
    for base, after in (("5", "3"), ("6", "6"), ("4", "5"), ("7", "2")):
        _supplier(programme, base, after, shared=base != "7")
    assert (_queries(ilo, PROGRAMME), _queries(brand, PORTFOLIO)) == before
