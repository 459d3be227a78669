"""The cohort's attendance register, the cohort form's rules beside their fields, and the
participants form that keeps every typed row."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from tests.conftest import client_for
from training.models import Attendance, Cohort, Participant
from training.services import enrolment as services
from training.services.attendance import (
    attendance_violations,
    record_cohort_attendance,
    tick_name,
)
from training.services.enrolment import TrainingError

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
YESTERDAY = TODAY - datetime.timedelta(days=1)
TOMORROW = TODAY + datetime.timedelta(days=1)


@pytest.fixture
def named(confirmed, factory_manager, four_participants):
    services.name_participants(
        enrolment=confirmed, actor=factory_manager, participants=four_participants
    )
    return confirmed


def _classroom(cohort, start, end):
    Cohort.objects.filter(pk=cohort.pk).update(classroom_start=start, classroom_end=end)
    cohort.refresh_from_db()
    return cohort


def _register_url(cohort):
    return reverse("training:cohort_attendance", args=[cohort.pk])


# --- The register -------------------------------------------------------------------------


def test_trainer_ticks_begun_days_for_every_enterprise_and_saves_at_once(world, named, trainer):
    cohort = _classroom(world.cohort, YESTERDAY, TODAY)
    people = list(Participant.objects.filter(enrolment=named).order_by("pk"))
    page = client_for(trainer).get(_register_url(cohort))
    assert page.status_code == 200
    assert all(p.name in page.text for p in people)
    ticks = {tick_name(p.pk, YESTERDAY): "1" for p in people[:3]}
    ticks[tick_name(people[0].pk, TODAY)] = "1"
    response = client_for(trainer).post(_register_url(cohort), ticks)
    assert response.status_code == 302
    assert Attendance.objects.count() == 4
    summary = dict(Participant.objects.values_list("pk", "attended_classroom"))
    assert [summary[p.pk] for p in people] == [True, True, True, False]
    named.refresh_from_db()
    assert named.status == "in_progress"
    # Saved again without a tick for person 2: that tick goes, the others stay as they were.
    del ticks[tick_name(people[1].pk, YESTERDAY)]
    first = Attendance.objects.get(participant=people[0], day=YESTERDAY)
    assert client_for(trainer).post(_register_url(cohort), ticks).status_code == 302
    assert Attendance.objects.count() == 3
    assert Attendance.objects.get(participant=people[0], day=YESTERDAY).pk == first.pk
    assert not Participant.objects.get(pk=people[1].pk).attended_classroom


def test_a_day_that_has_not_begun_is_refused_naming_the_date(world, named, trainer):
    cohort = _classroom(world.cohort, TODAY, TOMORROW)
    person = Participant.objects.filter(enrolment=named).first()
    page = client_for(trainer).get(_register_url(cohort)).text
    # The day ahead cannot be ticked on the page...
    ahead = tick_name(person.pk, TOMORROW)
    assert f'name="{ahead}" id="{ahead}" value="1" disabled' in page
    # ...and a crafted request for it is refused, the ticks sent kept.
    sent = {tick_name(person.pk, TODAY): "1", tick_name(person.pk, TOMORROW): "1"}
    response = client_for(trainer).post(_register_url(cohort), sent)
    assert response.status_code == 400
    assert (
        f"Attendance for {date_format(TOMORROW, 'DATE_FORMAT')} cannot be recorded yet"
        in response.text
    )
    assert (
        f'name="{tick_name(person.pk, TODAY)}" id="{tick_name(person.pk, TODAY)}" value="1" checked'
        in response.text
    )
    assert not Attendance.objects.exists()


def test_a_classroom_ahead_takes_no_register(world, named, trainer):
    with pytest.raises(TrainingError, match="The classroom begins on"):
        record_cohort_attendance(cohort=world.cohort, actor=trainer, ticks=set())


@pytest.mark.parametrize(
    ("persona", "get", "post"),
    [
        ("trainer", 200, 302),
        ("ilo_admin", 200, 302),
        ("provider_staff", 200, 403),  # sees the provider's cohort, does not record
        ("brand_staff", 404, 404),
        ("factory_manager", 404, 404),
        ("other_brand_staff", 404, 404),
    ],
)
def test_only_the_trainer_and_the_ilo_record_attendance(request, world, named, persona, get, post):
    cohort = _classroom(world.cohort, YESTERDAY, TODAY)
    user = request.getfixturevalue(persona)
    person = Participant.objects.filter(enrolment=named).first()
    assert client_for(user).get(_register_url(cohort)).status_code == get
    response = client_for(user).post(_register_url(cohort), {tick_name(person.pk, TODAY): "1"})
    assert response.status_code == post


def test_attendance_violations_list_what_breaks_the_rules(world, named, trainer):
    person = Participant.objects.filter(enrolment=named).first()
    # As the old per-enrolment form allowed: a classroom 20 days ahead marked attended.
    Attendance.objects.create(participant=person, day=world.cohort.classroom_start)
    Attendance.objects.create(
        participant=person, day=world.cohort.classroom_start - datetime.timedelta(days=30)
    )
    rules = sorted(rule for _obj, rule, _msg in attendance_violations())
    assert rules == [
        "attendance_day_not_begun",
        "attendance_outside_classroom",
        "attendance_summary_mismatch",  # ticks, but not marked as having attended
    ]
    messages = " ".join(msg for _obj, _rule, msg in attendance_violations())
    assert date_format(world.cohort.classroom_start, "DATE_FORMAT") in messages


def test_attendance_recorded_before_its_day_is_listed(world, named, trainer):
    cohort = _classroom(world.cohort, YESTERDAY, TODAY)
    person = Participant.objects.filter(enrolment=named).first()
    record_cohort_attendance(cohort=cohort, actor=trainer, ticks={(person.pk, YESTERDAY)})
    Attendance.objects.update(recorded_at=timezone.now() - datetime.timedelta(days=3))
    [(tick, rule, message)] = attendance_violations()
    assert (tick.participant, rule) == (person, "attendance_recorded_early")
    assert date_format(YESTERDAY, "DATE_FORMAT") in message


def test_no_violation_for_a_register_kept_by_the_rules(world, named, trainer):
    cohort = _classroom(world.cohort, YESTERDAY, TODAY)
    person = Participant.objects.filter(enrolment=named).first()
    record_cohort_attendance(cohort=cohort, actor=trainer, ticks={(person.pk, YESTERDAY)})
    assert attendance_violations() == []


def test_attendance_keeps_a_history(world, named, trainer):
    cohort = _classroom(world.cohort, YESTERDAY, TODAY)
    person = Participant.objects.filter(enrolment=named).first()
    record_cohort_attendance(cohort=cohort, actor=trainer, ticks={(person.pk, TODAY)})
    record_cohort_attendance(cohort=cohort, actor=trainer, ticks=set())
    kinds = list(Attendance.history.order_by("history_id").values_list("history_type", flat=True))
    assert kinds == ["+", "-"]


# --- Cohort form: rules beside their fields -----------------------------------------------


def _cohort_data(trainer, module_1, **changes):
    return {
        "module": module_1.pk,
        "trainer": trainer.pk,
        "venue_city": "Dongguan",
        "venue_country": "CN",
        "language": "zh-hans",
        "classroom_start": "2027-03-02",
        "classroom_end": "2027-03-01",
        "capacity": "5",
        **changes,
    }


def test_a_reversed_cohort_is_refused_beside_its_end_date(world, provider_staff, trainer, module_1):
    response = client_for(provider_staff).post(
        reverse("training:cohort_create"), _cohort_data(trainer, module_1)
    )
    assert response.status_code == 400
    assert "cohort_dates_ordered" not in response.text
    assert 'id="id_classroom_end_error"' in response.text
    end = date_format(datetime.date(2027, 3, 1), "DATE_FORMAT")
    start = date_format(datetime.date(2027, 3, 2), "DATE_FORMAT")
    assert f"The classroom cannot end ({end}) before it starts ({start})." in response.text
    assert 'value="Dongguan"' in response.text  # what was typed stays


def test_editing_a_cohort_keeps_its_capacity_above_the_places_taken(
    world, provider_staff, trainer, module_1, brand, brand_staff
):
    url = reverse("training:cohort_edit", args=[world.cohort.pk])
    assert client_for(provider_staff).get(url).status_code == 200
    data = _cohort_data(
        trainer,
        module_1,
        classroom_start=world.cohort.classroom_start.isoformat(),
        classroom_end=world.cohort.classroom_end.isoformat(),
        capacity="0",
    )
    response = client_for(provider_staff).post(url, data)
    assert response.status_code == 400
    assert 'id="id_capacity_error"' in response.text
    assert "1 enterprise already holds a place: the capacity cannot be less." not in response.text
    assert "A cohort needs room for at least one enterprise." in response.text
    # A second enterprise joins; the capacity cannot drop to one.
    from suppliers.services import link_supplier
    from tests.factories import FactoryFactory
    from training.services import enrol_factory

    second = FactoryFactory()
    link_supplier(brand=brand, factory=second, supplier_code="A-2")
    enrol_factory(
        factory=second,
        module=module_1,
        partnership=world.partnership,
        enrolled_by=brand_staff,
        cohort=world.cohort,
    )
    response = client_for(provider_staff).post(url, {**data, "capacity": "1"})
    assert response.status_code == 400
    assert "2 enterprises already hold a place: the capacity cannot be less." in response.text
    response = client_for(provider_staff).post(
        url, {**data, "capacity": "2", "venue_city": "Humen"}
    )
    assert response.status_code == 302
    world.cohort.refresh_from_db()
    assert (world.cohort.capacity, world.cohort.venue_city) == (2, "Humen")
    reversed_dates = {**data, "capacity": "2", "classroom_end": "2020-01-01"}
    response = client_for(provider_staff).post(url, reversed_dates)
    assert response.status_code == 400
    assert 'id="id_classroom_end_error"' in response.text


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("provider_staff", 200), ("trainer", 403), ("brand_staff", 404), ("ilo_admin", 403)],
)
def test_cohort_editing_is_for_the_providers_staff(request, world, persona, expected):
    user = request.getfixturevalue(persona)
    url = reverse("training:cohort_edit", args=[world.cohort.pk])
    assert client_for(user).get(url).status_code == expected


# --- Participants form: nothing typed is lost ----------------------------------------------


def test_participants_form_with_one_error_keeps_all_rows(world, confirmed, factory_manager):
    data = {
        "form-TOTAL_FORMS": "4",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "1",
        "form-MAX_NUM_FORMS": "20",
        "form-0-name": "王芳",
        "form-0-role": "manager",
        "form-0-gender": "woman",
        "form-1-name": "李强",
        "form-1-role": "manager",
        "form-1-gender": "man",
        "form-2-name": "张丽",
        "form-2-role": "worker",
        "form-2-gender": "",
        "form-3-name": "陈伟",
        "form-3-role": "worker",
        "form-3-gender": "man",
    }
    url = reverse("training:enrolment_act", args=[confirmed.pk, "participants"])
    response = client_for(factory_manager).post(url, data)
    assert response.status_code == 400
    for name in ("王芳", "李强", "张丽", "陈伟"):
        assert f'value="{name}"' in response.text
    assert 'id="id_form-2-gender_error"' in response.text
    error_at = response.text.index('id="id_form-2-gender_error"')
    assert "This field is required." in response.text[error_at : error_at + 200]
    assert response.text.count("This field is required.") == 1
    assert not Participant.objects.exists()


def test_a_refused_visit_keeps_what_was_typed_beside_the_form(world, confirmed, trainer):
    url = reverse("training:enrolment_act", args=[confirmed.pk, "visit"])
    future = (TODAY + datetime.timedelta(days=5)).isoformat()
    response = client_for(trainer).post(
        url,
        {"visit-kind": "baseline", "visit-visited_on": future, "visit-notes": "Met the EIT."},
    )
    assert response.status_code == 400
    assert "Met the EIT." in response.text
    assert "is in the future (today is" in response.text


def test_a_refused_enrol_form_keeps_every_ticked_supplier(world, brand, brand_staff, module_1):
    from suppliers.services import link_supplier
    from tests.factories import FactoryFactory

    second = FactoryFactory(name="宁波海天纺织有限公司")
    link_supplier(brand=brand, factory=second, supplier_code="A-2")
    response = client_for(brand_staff).post(
        reverse("training:enrol"),
        {"brand": brand.pk, "factories": [world.factory.pk, second.pk], "module": module_1.pk},
    )
    assert response.status_code == 400  # no partnership chosen
    for factory in (world.factory, second):
        assert f'value="{factory.pk}" id="factory-{factory.pk}" checked' in response.text


def test_an_enrolment_made_into_a_cohort_never_waited(world, brand_staff):
    page = client_for(brand_staff).get(reverse("training:enrolment_list")).text
    assert "placed after" not in page
    assert "waiting 0 days" not in page


def test_a_refusal_of_a_form_one_is_not_offered_still_says_why(world, confirmed, brand_staff):
    url = reverse("training:enrolment_act", args=[confirmed.pk, "participants"])
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "1",
        "form-MAX_NUM_FORMS": "20",
        "form-0-name": "王芳",
        "form-0-role": "manager",
        "form-0-gender": "woman",
    }
    response = client_for(brand_staff).post(url, data)
    assert response.status_code == 400
    assert "Only the factory&#x27;s managers answer for the factory." in response.text
    assert not Participant.objects.exists()
