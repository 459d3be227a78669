"""The access layer: ids typed in URLs, the menu per person, what an enrolment's place is."""

from __future__ import annotations

import pytest
from django.urls import reverse

from score_portal.access import menu, parse_id
from score_portal.scope import ANONYMOUS, scope_of
from tests.conftest import client_for
from training.models import Enrolment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        (12, 12),
        ("²", None),  # str.isdigit() says yes, int() says no
        ("٣", None),  # an Arabic-Indic three
        ("-1", None),
        ("1.0", None),
        ("", None),
        (None, None),
        ("9" * 19, None),  # past a bigint
    ],
)
def test_only_ascii_digits_are_an_id(typed, expected):
    assert parse_id(typed) == expected


@pytest.mark.parametrize(
    "url",
    [
        reverse("training:matrix"),
        reverse("training:matrix_csv"),
        reverse("training:impact"),
        reverse("training:enrol"),
        reverse("training:enrol_cohorts"),
        reverse("reporting:portfolio"),
    ],
)
@pytest.mark.parametrize("wanted", ["²", "abc", "999999"])
def test_a_brand_that_is_not_ones_own_is_not_found(world, brand_staff, url, wanted):
    response = client_for(brand_staff).get(url, {"brand": wanted})
    assert response.status_code == 404


def test_another_brands_id_is_not_found_either(world, brand_staff, other_brand):
    response = client_for(brand_staff).get(reverse("training:matrix"), {"brand": other_brand.pk})
    assert response.status_code == 404


def test_ones_own_brand_by_id(world, brand_staff, brand):
    response = client_for(brand_staff).get(reverse("training:matrix"), {"brand": str(brand.pk)})
    assert response.status_code == 200
    assert response.context["brand"] == brand


def test_the_menu_follows_what_each_person_can_reach(
    world, ilo_admin, brand_staff, brand_viewer, trainer, provider_staff, factory_manager
):
    assert menu(ANONYMOUS) == []
    assert menu(scope_of(ilo_admin)) == [
        "home",
        "partnerships",
        "suppliers",
        "imports",
        "programme_results",
        "cohorts",
        "enrolments",
        "certificates",
        "modules",
        "administration",
    ]
    brand_menu = [
        "home",
        "partnerships",
        "suppliers",
        "imports",
        "progress",
        "results",
        "enrolments",
        "certificates",
        "modules",
    ]
    assert menu(scope_of(brand_staff)) == brand_menu
    assert menu(scope_of(brand_viewer)) == brand_menu
    provider_menu = ["home", "partnerships", "cohorts", "enrolments", "modules"]
    assert menu(scope_of(trainer)) == provider_menu
    assert menu(scope_of(provider_staff)) == provider_menu
    assert menu(scope_of(factory_manager)) == [
        "home",
        "suppliers",
        "enrolments",
        "certificates",
        "modules",
    ]


def test_the_page_shows_that_menu(world, factory_manager):
    response = client_for(factory_manager).get(reverse("home"))
    labels = [item["label"] for item in response.context["nav_items"]]
    assert labels == ["Home", "Suppliers", "Enrolments", "Certificates", "Modules"]


def test_who_lists_results_reports(
    world,
    ilo_admin,
    brand_staff,
    brand_viewer,
    other_brand_staff,
    trainer,
    provider_staff,
    factory_manager,
):
    """The ILO, a funding partner's people (any role) and a provider's staff, not its
    trainers nor a factory's managers (reporting/views_reports.py, report_list)."""
    from score_portal.access import can_list_results_reports

    personas = {
        "anonymous": ANONYMOUS,
        "ILO admin": scope_of(ilo_admin),
        "brand staff": scope_of(brand_staff),
        "brand viewer": scope_of(brand_viewer),
        "another brand's staff": scope_of(other_brand_staff),
        "trainer": scope_of(trainer),
        "provider staff": scope_of(provider_staff),
        "factory manager": scope_of(factory_manager),
    }
    assert {name: can_list_results_reports(s) for name, s in personas.items()} == {
        "anonymous": False,
        "ILO admin": True,
        "brand staff": True,
        "brand viewer": True,
        "another brand's staff": True,
        "trainer": False,
        "provider staff": True,
        "factory manager": False,
    }
    url = reverse("reporting:report_list")
    for user, status in ((trainer, 404), (factory_manager, 404), (brand_viewer, 200)):
        assert client_for(user).get(url).status_code == status


HOLDS_A_PLACE = {
    "pending": True,
    "confirmed": True,
    "in_progress": True,
    "completed": True,
    "declined": False,
    "withdrawn": False,
}


def test_every_status_says_whether_it_holds_a_place(world):
    """The partnership's ledger counts places by ``holds_place``, which the database derives
    from the status: a new status must be placed here by hand."""
    assert set(HOLDS_A_PLACE) == set(Enrolment.Status.values)
    assert {s for s, holds in HOLDS_A_PLACE.items() if holds} == set(Enrolment.ACTIVE_STATUSES)
    enrolment = world.enrolment
    for status, holds in HOLDS_A_PLACE.items():
        Enrolment.objects.filter(pk=enrolment.pk).update(
            status=status, completed_at=enrolment.created_at, withdrawal_reason="Test"
        )
        assert Enrolment.objects.get(pk=enrolment.pk).holds_place is holds, status


def test_who_sees_trainers_the_placing_queue_and_decides_factory_changes(
    world, ilo_admin, brand_staff, brand_viewer, trainer, provider_staff, factory_manager, brand
):
    from score_portal.access import (
        can_decide_factory_change,
        can_list_trainers,
        can_read_supplier_list,
        can_see_placing_queue,
        places_anywhere,
    )

    ilo, staff, viewer = scope_of(ilo_admin), scope_of(brand_staff), scope_of(brand_viewer)
    teacher, coordinator = scope_of(trainer), scope_of(provider_staff)
    manager = scope_of(factory_manager)
    assert [can_list_trainers(s) for s in (ilo, staff, teacher, coordinator, manager)] == [
        True,
        False,
        False,
        True,
        False,
    ]
    assert [can_see_placing_queue(s) for s in (ilo, staff, teacher, coordinator)] == [
        True,
        False,
        False,
        True,
    ]
    assert [places_anywhere(s) for s in (ilo, staff, teacher, coordinator)] == [
        True,
        False,
        False,
        True,
    ]
    factory_id = world.factory.pk
    assert [can_decide_factory_change(s, factory_id) for s in (ilo, staff, manager)] == [
        True,
        False,
        True,
    ]
    assert not can_decide_factory_change(manager, world.other_factory.pk)
    assert [can_read_supplier_list(s, brand.pk) for s in (ilo, staff, viewer, manager)] == [
        True,
        True,
        True,
        False,
    ]


def test_a_trainers_long_cohort_list_reaches_the_same_enrolments_as_a_short_one(
    world, trainer, module_1, provider, monkeypatch
):
    """Beyond ``LONG_ID_LIST`` cohorts the reach is a subquery, not the list: same rows."""
    from score_portal import access
    from training.services import create_cohort

    create_cohort(
        module=module_1,
        provider=provider,
        trainer=trainer,
        venue_city="Bursa",
        venue_country="TR",
        language="tr",
        classroom_start=world.cohort.classroom_start,
        classroom_end=world.cohort.classroom_end,
    )
    scope = scope_of(trainer)
    assert len(scope.trained_cohort_ids) == 2
    short = set(Enrolment.objects.visible_to(scope).values_list("pk", flat=True))
    monkeypatch.setattr(access, "LONG_ID_LIST", 1)
    long = Enrolment.objects.visible_to(scope)
    assert "training_cohort" in str(long.query)  # the subquery, not the list
    assert set(long.values_list("pk", flat=True)) == short == {world.enrolment.pk}


def test_a_revoked_certificates_pdf_is_the_ilo_deciders_only(brand_staff, ilo_admin, trainer):
    from score_portal.access import can_download_certificate_pdf

    for person in (brand_staff, trainer, ilo_admin):
        assert can_download_certificate_pdf(scope_of(person), issued=True)
    assert not can_download_certificate_pdf(scope_of(brand_staff), issued=False)
    assert not can_download_certificate_pdf(scope_of(trainer), issued=False)
    assert can_download_certificate_pdf(scope_of(ilo_admin), issued=False)
