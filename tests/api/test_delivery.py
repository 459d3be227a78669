"""Providers' keys deliver through the API, on the pages' services and with their refusals:
placing waiting enrolments, the classroom register, consulting visits and KPI readings."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from suppliers.services import link_supplier
from tests.api.conftest import key_client
from tests.factories import FactoryFactory, PartnershipFactory
from training.models import (
    Attendance,
    Cohort,
    ConsultingVisit,
    Enrolment,
    KPIDefinition,
    KPIReading,
    Participant,
)
from training.services import enrolment as enrolment_services
from training.services import kpis as kpi_services
from training.services.enrolment import TrainingError

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
DAY = datetime.timedelta(days=1)

PEOPLE = [
    {"name": "王芳", "position": "Production manager", "role": "manager", "gender": "woman"},
    {"name": "李强", "position": "HR manager", "role": "manager", "gender": "man"},
    {"name": "张丽", "position": "Sewing operator", "role": "worker", "gender": "woman"},
]


def _errors(response) -> list[dict]:
    return response.json()["errors"]


@pytest.fixture
def provider_api(provider_acting_key):
    return key_client(provider_acting_key[1])


@pytest.fixture
def waiting(world, brand, brand_staff, module_1):
    """A Chinese supplier of brand A enrolled in Module 1 without a cohort."""
    factory = FactoryFactory(name="宁波海天纺织有限公司")
    link_supplier(brand=brand, factory=factory, supplier_code="A-900")
    return enrolment_services.enrol_factory(
        factory=factory, module=module_1, partnership=world.partnership, enrolled_by=brand_staff
    )


@pytest.fixture
def named(world, factory_manager):
    """The world's enrolment confirmed, its people named, its classroom yesterday and today."""
    enrolment_services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    enrolment_services.name_participants(
        enrolment=world.enrolment, actor=factory_manager, participants=PEOPLE
    )
    Cohort.objects.filter(pk=world.cohort.pk).update(
        classroom_start=TODAY - DAY, classroom_end=TODAY
    )
    return Enrolment.objects.get(pk=world.enrolment.pk)


@pytest.fixture
def running(world, factory_manager):
    """The world's enrolment confirmed, made 30 days ago, its classroom 20 and 19 days ago."""
    enrolment_services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    Cohort.objects.filter(pk=world.cohort.pk).update(
        classroom_start=TODAY - 20 * DAY, classroom_end=TODAY - 19 * DAY
    )
    Enrolment.objects.filter(pk=world.enrolment.pk).update(
        created_at=datetime.datetime.now(datetime.UTC) - 30 * DAY
    )
    return Enrolment.objects.get(pk=world.enrolment.pk)


# --- Placing -------------------------------------------------------------------------------


def test_the_placing_queue_is_the_providers(waiting, world, provider_api, provider_key, api):
    url = "/api/v1/cohorts/placing-queue/"
    listed = provider_api.get(url)
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()["results"]] == [waiting.pk]
    # A provider's viewers see the queue too (they do not place).
    assert key_client(provider_key[1]).get(url).json()["count"] == 1
    assert api.get(url).status_code == 404  # a brand's key


def test_a_provider_places_through_the_placing_service(
    waiting, world, provider_api, provider_admin
):
    response = provider_api.post(
        f"/api/v1/cohorts/{world.cohort.pk}/place/", {"enrolments": [waiting.pk]}
    )
    assert response.status_code == 200, response.content
    assert [e["id"] for e in response.json()] == [waiting.pk]
    assert response.json()[0]["cohort"] == world.cohort.pk
    waiting.refresh_from_db()
    assert waiting.cohort == world.cohort and waiting.placed_by == provider_admin


def test_placing_refusals_are_the_services(world, brand, brand_staff, module_1, provider_api):
    Cohort.objects.filter(pk=world.cohort.pk).update(capacity=2)  # the world's enrolment: 1
    waiting = []
    for n in range(2):
        factory = FactoryFactory()
        link_supplier(brand=brand, factory=factory, supplier_code=f"A-9{n}")
        waiting.append(
            enrolment_services.enrol_factory(
                factory=factory, module=module_1, partnership=world.partnership,
                enrolled_by=brand_staff,
            )
        )  # fmt: skip
    url = f"/api/v1/cohorts/{world.cohort.pk}/place/"
    response = provider_api.post(url, {"enrolments": [e.pk for e in waiting]})
    assert response.status_code == 400
    assert _errors(response) == [
        {
            "field": "enrolments",
            "code": "refused",
            "message": "The cohort has 1 place left; you chose 2 enterprises.",
        }
    ]
    assert not Enrolment.objects.filter(pk__in=[e.pk for e in waiting], cohort__isnull=False)


def test_a_turkish_factory_in_a_chinese_cohort_needs_a_reason(
    world, brand, brand_staff, module_1, provider_api, provider
):
    factory = FactoryFactory(name="Yıldız Tekstil", country="TR")
    link_supplier(brand=brand, factory=factory, supplier_code="A-TR")
    PartnershipFactory(partner=provider, countries=["CN", "TR"], status="approved")
    enrolment = enrolment_services.enrol_factory(
        factory=factory, module=module_1, partnership=world.partnership, enrolled_by=brand_staff
    )
    url = f"/api/v1/cohorts/{world.cohort.pk}/place/"
    refused = provider_api.post(url, {"enrolments": [enrolment.pk]})
    assert refused.status_code == 400, refused.content
    assert [e["field"] for e in _errors(refused)] == ["reason"]
    placed = provider_api.post(url, {"enrolments": [enrolment.pk], "reason": "Buyer's request."})
    assert placed.status_code == 200, placed.content
    enrolment.refresh_from_db()
    assert enrolment.placement_reason == "Buyer's request."


def test_only_the_providers_acting_keys_place(
    waiting, world, provider_key, other_provider_key, acting_key, other_key
):
    url = f"/api/v1/cohorts/{world.cohort.pk}/place/"
    body = {"enrolments": [waiting.pk]}
    read_only = key_client(provider_key[1]).post(url, body)
    assert read_only.status_code == 403
    assert _errors(read_only)[0]["message"] == "This API key is read-only."
    for outsider in (other_provider_key, acting_key, other_key):  # the cohort is not theirs
        assert key_client(outsider[1]).post(url, body).status_code == 404
    waiting.refresh_from_db()
    assert waiting.cohort is None


def test_an_enrolment_outside_the_queue_is_a_field_error(world, provider_api):
    # The other brand's Turkish enrolment: the provider does not serve Türkiye.
    response = provider_api.post(
        f"/api/v1/cohorts/{world.cohort.pk}/place/", {"enrolments": [world.other_enrolment.pk]}
    )
    assert response.status_code == 400
    assert _errors(response)[0]["field"] == "enrolments"
    assert Enrolment.objects.get(pk=world.other_enrolment.pk).cohort is None


def test_placing_is_idempotent(waiting, world, provider_api):
    url = f"/api/v1/cohorts/{world.cohort.pk}/place/"
    body = {"enrolments": [waiting.pk]}
    first = provider_api.post(url, body, HTTP_IDEMPOTENCY_KEY="place-1")
    again = provider_api.post(url, body, HTTP_IDEMPOTENCY_KEY="place-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    # Without the key, the retry meets the rule: no longer waiting.
    assert provider_api.post(url, body).status_code == 400


# --- Attendance ----------------------------------------------------------------------------


def test_the_register_and_a_day_recorded(world, named, provider_api):
    people = list(Participant.objects.filter(enrolment=named).order_by("pk"))
    url = f"/api/v1/cohorts/{world.cohort.pk}/attendance/"
    register = provider_api.get(url).json()
    assert register["days"] == [str(TODAY - DAY), str(TODAY)]
    assert {p["participant"] for p in register["participants"]} == {p.pk for p in people}
    first = provider_api.post(url, {"day": str(TODAY - DAY), "present": [p.pk for p in people]})
    assert first.status_code == 200, first.content
    second = provider_api.post(url, {"day": str(TODAY), "present": [people[0].pk]})
    assert second.status_code == 200, second.content
    # The first day's ticks stay; the second day has exactly its one.
    assert set(Attendance.objects.values_list("participant_id", "day")) == {
        *((p.pk, TODAY - DAY) for p in people),
        (people[0].pk, TODAY),
    }
    rows = {r["participant"]: r["present_on"] for r in second.json()["participants"]}
    assert rows[people[0].pk] == [str(TODAY - DAY), str(TODAY)]
    assert rows[people[1].pk] == [str(TODAY - DAY)]
    named.refresh_from_db()
    assert named.status == "in_progress"  # the first register starts it, as on the page
    # Absent on a day: ticks removed for it.
    provider_api.post(url, {"day": str(TODAY), "present": []})
    assert not Attendance.objects.filter(day=TODAY).exists()


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (TODAY + DAY, "is not a classroom day of this cohort"),
        (TODAY - 5 * DAY, "is not a classroom day of this cohort"),
    ],
)
def test_attendance_refusals_are_the_registers(world, named, provider_api, day, message):
    person = Participant.objects.filter(enrolment=named).first()
    response = provider_api.post(
        f"/api/v1/cohorts/{world.cohort.pk}/attendance/", {"day": str(day), "present": [person.pk]}
    )
    assert response.status_code == 400
    [error] = _errors(response)
    assert error["field"] == "day" and message in error["message"]
    assert not Attendance.objects.exists()


def test_a_day_not_begun_and_strangers_are_refused(world, named, provider_api):
    Cohort.objects.filter(pk=world.cohort.pk).update(classroom_end=TODAY + DAY)
    url = f"/api/v1/cohorts/{world.cohort.pk}/attendance/"
    person = Participant.objects.filter(enrolment=named).first()
    early = provider_api.post(url, {"day": str(TODAY + DAY), "present": [person.pk]})
    assert early.status_code == 400
    assert "that classroom day has not begun" in _errors(early)[0]["message"]
    stranger = provider_api.post(url, {"day": str(TODAY), "present": [999_999]})
    assert stranger.status_code == 400
    assert _errors(stranger)[0]["message"] == (
        "Some ticks are for people who are not in this cohort."
    )
    assert not Attendance.objects.exists()


def test_only_the_cohorts_provider_records_attendance(
    world, named, provider_key, other_provider_key, acting_key, ilo_key
):
    url = f"/api/v1/cohorts/{world.cohort.pk}/attendance/"
    person = Participant.objects.filter(enrolment=named).first()
    body = {"day": str(TODAY), "present": [person.pk]}
    assert key_client(provider_key[1]).post(url, body).status_code == 403
    assert key_client(provider_key[1]).get(url).status_code == 200  # reads the register
    assert key_client(other_provider_key[1]).post(url, body).status_code == 404
    assert key_client(other_provider_key[1]).get(url).status_code == 404
    assert key_client(acting_key[1]).post(url, body).status_code == 404
    assert not Attendance.objects.exists()
    # The ILO's staff may keep a register, as on the page.
    assert key_client(ilo_key[1]).post(url, body).status_code == 200


# --- Visits --------------------------------------------------------------------------------


def test_a_provider_logs_visits_in_the_trainers_name(world, running, provider_api, trainer):
    url = f"/api/v1/enrolments/{running.pk}/visits/"
    baseline = provider_api.post(url, {"kind": "baseline", "visited_on": str(TODAY - 25 * DAY)})
    assert baseline.status_code == 201, baseline.content
    visit = ConsultingVisit.objects.get(pk=baseline.json()["id"])
    assert visit.trainer == trainer and visit.number == 1
    follow_up = provider_api.post(
        url, {"kind": "follow_up", "visited_on": str(TODAY - 2 * DAY), "notes": "On track."}
    )
    assert follow_up.status_code == 201, follow_up.content
    assert follow_up.json()["number"] == 1 and follow_up.json()["notes"] == "On track."


def test_visit_refusals_are_the_services(world, running, provider_api, trainer):
    url = f"/api/v1/enrolments/{running.pk}/visits/"
    first = provider_api.post(url, {"kind": "follow_up", "visited_on": str(TODAY - 2 * DAY)})
    assert first.status_code == 400
    assert _errors(first) == [
        {
            "field": "kind",
            "code": "refused",
            "message": "Record the intake / baseline visit first.",
        }
    ]
    future = provider_api.post(url, {"kind": "baseline", "visited_on": str(TODAY + DAY)})
    assert future.status_code == 400 and _errors(future)[0]["field"] == "visited_on"
    with pytest.raises(TrainingError) as page:
        enrolment_services.record_visit(
            enrolment=running, actor=trainer, kind="baseline", visited_on=TODAY + DAY
        )
    assert _errors(future)[0]["message"] == str(page.value)
    assert not ConsultingVisit.objects.exists()


def test_only_the_cohorts_provider_logs_visits(
    world, running, provider_key, other_provider_key, acting_key, other_key
):
    url = f"/api/v1/enrolments/{running.pk}/visits/"
    body = {"kind": "baseline", "visited_on": str(TODAY - 25 * DAY)}
    assert key_client(provider_key[1]).post(url, body).status_code == 403  # read-only
    assert key_client(acting_key[1]).post(url, body).status_code == 403  # the funding brand
    assert key_client(other_provider_key[1]).post(url, body).status_code == 404
    assert key_client(other_key[1]).post(url, body).status_code == 404
    assert not ConsultingVisit.objects.exists()


def test_a_visit_is_idempotent(world, running, provider_api):
    url = f"/api/v1/enrolments/{running.pk}/visits/"
    body = {"kind": "baseline", "visited_on": str(TODAY - 25 * DAY)}
    first = provider_api.post(url, body, HTTP_IDEMPOTENCY_KEY="v-1")
    again = provider_api.post(url, body, HTTP_IDEMPOTENCY_KEY="v-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert ConsultingVisit.objects.count() == 1


# --- KPI readings --------------------------------------------------------------------------


def _reading_body(**extra):
    return {
        "kpi": "absenteeism",
        "kind": "baseline",
        "value": "8",
        "measured_on": str(TODAY - 21 * DAY),
        **extra,
    }


def test_a_provider_records_corrects_and_deletes_readings(
    world, running, provider_api, provider_admin
):
    url = f"/api/v1/enrolments/{running.pk}/kpi-readings/"
    created = provider_api.post(url, _reading_body())
    assert created.status_code == 201, created.content
    reading = KPIReading.objects.get(pk=created.json()["id"])
    assert reading.value == Decimal("8") and reading.recorded_by == provider_admin
    # It writes for the trainer but reads nothing: provider staff never see readings.
    assert provider_api.get(url).status_code == 403
    corrected = provider_api.post(
        f"{url}{reading.pk}/correct/",
        {"value": "6.5", "measured_on": str(TODAY - 21 * DAY), "reason": "Typing error."},
    )
    assert corrected.status_code == 200, corrected.content
    assert corrected.json()["value"] == "6.500"
    latest = reading.history.order_by("-history_date").first()
    assert latest.history_change_reason == "Typing error."
    assert latest.history_user == provider_admin
    deleted = provider_api.post(f"{url}{reading.pk}/delete/", {"reason": "Wrong factory."})
    assert deleted.status_code == 204, deleted.content
    assert not KPIReading.objects.filter(pk=reading.pk).exists()
    assert reading.history.order_by("-history_date").first().history_change_reason == (
        "Wrong factory."
    )


def test_reading_refusals_are_the_services_beside_their_fields(world, running, provider_api):
    url = f"/api/v1/enrolments/{running.pk}/kpi-readings/"
    above = provider_api.post(url, _reading_body(value="120"))
    assert above.status_code == 400
    assert [e["field"] for e in _errors(above)] == ["value"]
    assert {e["code"] for e in _errors(above)} == {"refused"}
    future = provider_api.post(url, _reading_body(measured_on=str(TODAY + DAY)))
    assert [e["field"] for e in _errors(future)] == ["measured_on"]
    unknown = provider_api.post(url, _reading_body(kpi="happiness"))
    assert _errors(unknown) == [{"field": "kpi", "code": "refused", "message": "Unknown KPI."}]
    not_of_module = KPIDefinition.objects.exclude(modules=running.module).first()
    if not_of_module is not None:
        other = provider_api.post(url, _reading_body(kpi=not_of_module.code))
        assert [e["field"] for e in _errors(other)] == ["kpi"]
    assert not KPIReading.objects.exists()


def test_corrections_need_a_reason_and_a_baseline_goes_last(world, running, provider_api, trainer):
    kpi = KPIDefinition.objects.get(code="absenteeism")
    baseline = kpi_services.record_kpi_reading(
        enrolment=running, actor=trainer, kpi=kpi, kind="baseline", value=Decimal("8"),
        measured_on=TODAY - 21 * DAY,
    )  # fmt: skip
    kpi_services.record_kpi_reading(
        enrolment=running, actor=trainer, kpi=kpi, kind="follow_up", value=Decimal("5"),
        measured_on=TODAY - 2 * DAY,
    )  # fmt: skip
    url = f"/api/v1/enrolments/{running.pk}/kpi-readings/{baseline.pk}/"
    no_reason = provider_api.post(
        f"{url}correct/", {"value": "7", "measured_on": str(TODAY - 21 * DAY), "reason": "  "}
    )
    assert no_reason.status_code == 400
    assert [e["field"] for e in _errors(no_reason)] == ["reason"]
    gone_first = provider_api.post(f"{url}delete/", {"reason": "Wrong."})
    assert gone_first.status_code == 400
    [error] = _errors(gone_first)
    assert error["field"] is None and "delete them first" in error["message"]
    assert KPIReading.objects.count() == 2


def test_who_writes_readings(
    world, running, provider_key, other_provider_key, acting_key, other_key, trainer
):
    kpi = KPIDefinition.objects.get(code="absenteeism")
    reading = kpi_services.record_kpi_reading(
        enrolment=running, actor=trainer, kpi=kpi, kind="baseline", value=Decimal("8"),
        measured_on=TODAY - 21 * DAY,
    )  # fmt: skip
    url = f"/api/v1/enrolments/{running.pk}/kpi-readings/"
    correct = f"{url}{reading.pk}/correct/"
    correction = {"value": "7", "measured_on": str(TODAY - 21 * DAY), "reason": "x"}
    # A read-only key never writes; the funding brand sees the enrolment but not its data.
    assert key_client(provider_key[1]).post(url, _reading_body()).status_code == 403
    assert key_client(provider_key[1]).post(correct, correction).status_code == 403
    brand = key_client(acting_key[1]).post(correct, correction)
    assert brand.status_code == 403
    assert _errors(brand)[0]["message"] == "Only the factory and its trainer record KPI readings."
    for outsider in (other_provider_key, other_key):
        assert key_client(outsider[1]).post(url, _reading_body()).status_code == 404
        assert key_client(outsider[1]).post(correct, correction).status_code == 404
    reading.refresh_from_db()
    assert reading.value == Decimal("8")


def test_a_reading_of_another_enrolment_is_not_found(world, running, provider_api, trainer):
    kpi = KPIDefinition.objects.get(code="absenteeism")
    reading = kpi_services.record_kpi_reading(
        enrolment=running, actor=trainer, kpi=kpi, kind="baseline", value=Decimal("8"),
        measured_on=TODAY - 21 * DAY,
    )  # fmt: skip
    # The provider reaches the other enrolment? No: 404 on the enrolment, then on the reading.
    url = f"/api/v1/enrolments/{world.other_enrolment.pk}/kpi-readings/{reading.pk}/delete/"
    assert provider_api.post(url, {"reason": "x"}).status_code == 404
    own = f"/api/v1/enrolments/{running.pk}/kpi-readings/999999/delete/"
    assert provider_api.post(own, {"reason": "x"}).status_code == 404


def test_a_reading_is_idempotent(world, running, provider_api):
    url = f"/api/v1/enrolments/{running.pk}/kpi-readings/"
    first = provider_api.post(url, _reading_body(), HTTP_IDEMPOTENCY_KEY="r-1")
    again = provider_api.post(url, _reading_body(), HTTP_IDEMPOTENCY_KEY="r-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert KPIReading.objects.count() == 1
    deleted = provider_api.post(
        f"{url}{first.json()['id']}/delete/", {"reason": "x"}, HTTP_IDEMPOTENCY_KEY="d-1"
    )
    replayed = provider_api.post(
        f"{url}{first.json()['id']}/delete/", {"reason": "x"}, HTTP_IDEMPOTENCY_KEY="d-1"
    )
    assert deleted.status_code == replayed.status_code == 204


def test_attendance_and_corrections_are_idempotent(world, named, provider_api, trainer):
    people = list(Participant.objects.filter(enrolment=named).order_by("pk"))
    url = f"/api/v1/cohorts/{world.cohort.pk}/attendance/"
    body = {"day": str(TODAY), "present": [people[0].pk]}
    first = provider_api.post(url, body, HTTP_IDEMPOTENCY_KEY="a-1")
    again = provider_api.post(url, body, HTTP_IDEMPOTENCY_KEY="a-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    # The same idempotency key with another body: 422, nothing recorded.
    other = provider_api.post(url, {**body, "present": []}, HTTP_IDEMPOTENCY_KEY="a-1")
    assert other.status_code == 422
    assert Attendance.objects.filter(day=TODAY).count() == 1
    Cohort.objects.filter(pk=world.cohort.pk).update(
        classroom_start=TODAY - 20 * DAY, classroom_end=TODAY - 19 * DAY
    )
    reading = kpi_services.record_kpi_reading(
        enrolment=named, actor=trainer, kpi=KPIDefinition.objects.get(code="absenteeism"),
        kind="baseline", value=Decimal("8"), measured_on=TODAY - 21 * DAY,
    )  # fmt: skip
    correct = f"/api/v1/enrolments/{named.pk}/kpi-readings/{reading.pk}/correct/"
    change = {"value": "7", "measured_on": str(TODAY - 21 * DAY), "reason": "Typo."}
    first = provider_api.post(correct, change, HTTP_IDEMPOTENCY_KEY="c-1")
    again = provider_api.post(correct, change, HTTP_IDEMPOTENCY_KEY="c-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert reading.history.count() == 2  # recorded, corrected once
