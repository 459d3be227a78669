"""The dashboards' kept figures (reporting/rollups.py): equal to an independent recount, fresh
within the stated delay, never read across tenants, and the pages say when they were counted."""

from __future__ import annotations

import datetime
import uuid

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from reporting import reports, rollups, tasks
from score_portal import access
from score_portal.cache import breaker
from score_portal.scope import scope_of
from tests.conftest import DEAD_BROKER, client_for
from tests.reporting.test_figures import recount
from training.models import Enrolment, KPIConsent
from training.services import enrol_factory

pytestmark = pytest.mark.django_db

PROGRAMME = reverse("reporting:programme")
PORTFOLIO = reverse("reporting:portfolio")
S = Enrolment.Status
T0 = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)


def _rows(keep=lambda e: True):
    return [e for e in Enrolment.objects.select_related("factory", "cohort") if keep(e)]


def _page_figures(response):
    context = response.context
    return {
        "reached": context["factories_reached"],
        "stages": {stage.key: stage.count for stage, _url in context["stages"]},
        "people": dict(context["participants"].cells),
        "workers": context["workforce"].workers,
        "trainers": context["active_trainers"],
    }


def _recounted(rows):
    expected = recount(rows)
    return {
        "reached": expected["reached"],
        "stages": expected["stages"],
        "people": dict(expected["people"]),
        "workers": expected["workers"],
        "trainers": expected["trainers"],
    }


def _complete_a_new_enrolment(programme):
    """A change after the figures were counted: one more factory reached and completed."""
    factory = programme.factories[6]  # on brand A's list, never enrolled
    enrolment = enrol_factory(
        factory=factory, module=programme.m1, partnership=programme.partnership, enrolled_by=None
    )
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status=S.COMPLETED, completed_at=timezone.now()
    )


def test_the_programme_figures_beat_keeps_equal_a_recount(programme, ilo_admin):
    with time_machine.travel(T0, tick=False):
        assert tasks.refresh_results() >= 3  # the programme and both brands' portfolios
        # The snapshot is read, not counted again: its time is the refresh's.
        response = client_for(ilo_admin).get(PROGRAMME)
    assert response.context["figures_as_of"] == T0
    assert _page_figures(response) == _recounted(_rows())


def test_a_portfolio_kept_by_beat_equals_a_recount_of_what_the_brand_funds(programme, brand_staff):
    with time_machine.travel(T0, tick=False):
        tasks.refresh_results()
        response = client_for(brand_staff).get(PORTFOLIO)
    assert response.context["figures_as_of"] == T0
    funded = _rows(lambda e: e.partnership_id == programme.partnership.pk)
    assert _page_figures(response) == _recounted(funded)


def test_a_change_shows_once_the_refresh_task_has_run(programme, ilo_admin):
    client = client_for(ilo_admin)
    with time_machine.travel(T0, tick=False):
        before = _page_figures(client.get(PROGRAMME))
    _complete_a_new_enrolment(programme)
    with time_machine.travel(T0 + datetime.timedelta(minutes=2), tick=False):
        kept = client.get(PROGRAMME)
        assert _page_figures(kept) == before  # within the stated delay: as counted at T0
        assert kept.context["figures_as_of"] == T0
        tasks.refresh_results()
        fresh = client.get(PROGRAMME)
    assert fresh.context["figures_as_of"] == T0 + datetime.timedelta(minutes=2)
    assert _page_figures(fresh) == _recounted(_rows())
    assert _page_figures(fresh)["stages"]["completed"] == before["stages"]["completed"] + 1


def test_without_a_refresh_a_change_shows_after_the_stated_delay(programme, ilo_admin, settings):
    settings.RESULTS_FRESHNESS_SECONDS = 600
    client = client_for(ilo_admin)
    with time_machine.travel(T0, tick=False):
        before = _page_figures(client.get(PROGRAMME))
    _complete_a_new_enrolment(programme)
    with time_machine.travel(T0 + datetime.timedelta(seconds=599), tick=False):
        assert _page_figures(client.get(PROGRAMME)) == before
    with time_machine.travel(T0 + datetime.timedelta(seconds=600), tick=False):
        after = client.get(PROGRAMME)
    assert _page_figures(after) == _recounted(_rows())


def test_filtered_figures_are_kept_apart_from_the_unfiltered(programme, ilo_admin):
    client = client_for(ilo_admin)
    everything = _page_figures(client.get(PROGRAMME))
    turkey = _page_figures(client.get(PROGRAMME, {"country": "TR"}))
    assert turkey == _recounted(_rows(lambda e: e.factory.country == "TR"))
    assert turkey != everything
    assert _page_figures(client.get(PROGRAMME)) == everything


def test_brand_b_never_reads_brand_as_kept_figures(programme, brand_staff, other_brand_staff):
    with time_machine.travel(T0, tick=False):
        a = client_for(brand_staff).get(PORTFOLIO)  # A's figures kept first
        b = client_for(other_brand_staff).get(PORTFOLIO)
    assert b.context["brand"] == programme.other_brand
    funded_by_b = _rows(lambda e: e.partnership_id == programme.other_partnership.pk)
    assert _page_figures(b) == _recounted(funded_by_b)
    assert _page_figures(a) != _page_figures(b)
    assert programme.brand.name not in b.text
    # Nor may B ask for A's portfolio (kept or not): 404.
    other = client_for(other_brand_staff).get(PORTFOLIO, {"brand": programme.brand.pk})
    assert other.status_code == 404


def test_only_readers_of_the_whole_portfolio_share_its_kept_figures(
    programme, brand_staff, other_brand_staff, ilo_admin, trainer
):
    brand_id = programme.brand.pk
    assert access.sees_whole_portfolio(scope_of(brand_staff), brand_id)
    assert access.sees_whole_portfolio(scope_of(ilo_admin), brand_id)
    assert not access.sees_whole_portfolio(scope_of(other_brand_staff), brand_id)
    assert not access.sees_whole_portfolio(scope_of(trainer), brand_id)
    # A reader of part of it counts for themselves alone: nothing is kept.
    snapshot = rollups.portfolio(
        lambda: Enrolment.objects.filter(partnership__partner_id=brand_id),
        scope_of(trainer),
        brand_id=brand_id,
        country="",
        filters={},
    )
    assert snapshot.key is None and snapshot.fragment_key == ""
    assert rollups.portfolio_key(brand_id, {}) != rollups.portfolio_key(
        programme.other_brand.pk, {}
    )


def test_a_withdrawn_kpi_consent_is_never_shown_from_kept_figures(programme, brand_staff):
    consent = KPIConsent.objects.create(
        factory=programme.factories[0], partner=programme.brand, given_by=None
    )
    before = rollups.portfolio_key(programme.brand.pk, {})
    consent.delete()  # withdrawn: the brand's kept KPI figures no longer apply
    assert rollups.portfolio_key(programme.brand.pk, {}) != before


def test_the_pages_state_when_their_figures_were_counted(programme, ilo_admin, brand_staff):
    with time_machine.travel(T0, tick=False):
        tasks.refresh_results()
        for client, url in (
            (client_for(ilo_admin), PROGRAMME),
            (client_for(brand_staff), PORTFOLIO),
        ):
            text = client.get(url).text
            assert "Figures as of" in text
            assert 'datetime="' + timezone.localtime(T0).isoformat(timespec="seconds") in text
            assert "refreshed every 10 minutes" in text


def test_kept_figures_serve_every_language_in_its_own(programme, ilo_admin):
    client = client_for(ilo_admin)
    client.get(PROGRAMME)  # kept, counted for an English reader
    spanish = client.get(PROGRAMME, headers={"accept-language": "es"})
    labels = [str(stage.label) for stage, _url in spanish.context["stages"]]
    assert labels and "Enrolled" not in labels  # the kept funnel, labelled in Spanish


def test_with_redis_down_the_dashboards_still_answer(programme, ilo_admin, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "score_portal.cache.RedisCache",
            "LOCATION": DEAD_BROKER,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    breaker.reset()
    try:
        response = client_for(ilo_admin).get(PROGRAMME)
        assert response.status_code == 200
        assert _page_figures(response) == _recounted(_rows())
        tasks.refresh_results()  # the beat task too: counted, kept in the process
    finally:
        breaker.reset()


def test_the_refresh_task_is_safe_to_run_twice(programme):
    first = tasks.refresh_results()
    assert tasks.refresh_results() == first


# --- The report's data on a page --------------------------------------------------------------


def _preview(partnership) -> str:
    return reverse("reporting:report_preview", args=[partnership.pk])


def test_a_brand_previews_its_partnerships_report(programme, brand_staff):
    response = client_for(brand_staff).get(_preview(programme.partnership))
    assert response.status_code == 200
    report = response.context["report"]
    assert report.partnership == programme.partnership
    assert report.period_start == timezone.localdate().replace(month=1, day=1)
    assert "Figures as of" in response.text
    shown = response.context["factories"]
    assert shown and all(f.name in response.text for f in shown)


def test_the_preview_reads_a_chosen_period_and_keeps_a_wrong_one(programme, brand_staff):
    client = client_for(brand_staff)
    start = timezone.localdate() - datetime.timedelta(days=400)
    response = client.get(
        _preview(programme.partnership),
        {"period_start": start.isoformat(), "period_end": timezone.localdate().isoformat()},
    )
    assert response.context["report"].period_start == start
    wrong = client.get(_preview(programme.partnership), {"period_start": "2026-13-45"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors
    assert 'value="2026-13-45"' in wrong.text


@pytest.mark.parametrize("persona", ["other_brand_staff", "trainer", "factory_manager"])
def test_others_get_404_for_a_partnerships_report_preview(programme, persona, request):
    response = client_for(request.getfixturevalue(persona)).get(_preview(programme.partnership))
    assert response.status_code == 404


def test_the_preview_pages_through_its_factories(programme, brand_staff, monkeypatch):
    monkeypatch.setattr(rollups, "REPORT_PAGE_SIZE", 2)
    client = client_for(brand_staff)
    start = (timezone.localdate() - datetime.timedelta(days=400)).isoformat()
    period = {"period_start": start, "period_end": timezone.localdate().isoformat()}
    first = client.get(_preview(programme.partnership), period)
    second = client.get(_preview(programme.partnership), {**period, "page": 2})
    names_1 = [f.name for f in first.context["factories"]]
    names_2 = [f.name for f in second.context["factories"]]
    assert len(names_1) == 2 and names_2 and not set(names_1) & set(names_2)
    assert "page=2" in first.text


def test_beat_keeps_warm_the_report_previews_read_lately(programme, brand_staff):
    client = client_for(brand_staff)
    with time_machine.travel(T0, tick=False):
        tasks.refresh_results()
        cold = rollups.report(programme.partnership, *rollups.default_period())
    assert cold.computed_at == T0  # not kept by beat: nobody had read it
    with time_machine.travel(T0 + datetime.timedelta(minutes=5), tick=False):
        tasks.refresh_results()
        response = client.get(_preview(programme.partnership))
    assert response.context["figures_as_of"] == T0 + datetime.timedelta(minutes=5)


def test_a_kept_report_shows_the_same_kpi_figures_without_keeping_each_factorys_value(programme):
    start, end = rollups.default_period()
    counted = reports.gather(programme.partnership, start, end).kpis
    kept = rollups.report(programme.partnership, start, end, refresh=True).figures["report"].kpis

    def figures_of(items, *, values: bool):
        return [
            (item.kpi.pk, group, stage, f.reporting, f.counted, f.average)
            + ((f.values,) if values else ())
            for item in items
            for group in ("shared", "unshared")
            for stage, f in vars(getattr(item, group)).items()
        ]

    assert any(f[5] is not None for f in figures_of(counted, values=False))  # a real figure
    assert figures_of(kept, values=False) == figures_of(counted, values=False)
    assert all(f[6] == () for f in figures_of(kept, values=True))
    assert any(f[6] for f in figures_of(counted, values=True))
