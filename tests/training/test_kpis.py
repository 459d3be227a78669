"""KPI readings: plausible values and dates, correction and deletion with a reason, their
history, and who sees them (services and views)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from score_portal.models import User
from tests.conftest import client_for
from training.kpi_rules import kpi_violations
from training.models import Cohort, Enrolment, KPIConsent, KPIDefinition, KPIReading
from training.selectors import progress_of
from training.services import enrolment as enrolment_services
from training.services import kpis as services
from training.services.enrolment import TrainingError
from training.services.kpis import KPIReadingError

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
DAY = datetime.timedelta(days=1)
CLASSROOM_START = TODAY - 20 * DAY
CLASSROOM_END = TODAY - 19 * DAY


def _day(day: datetime.date) -> str:
    return date_format(day, "DATE_FORMAT")


@pytest.fixture
def running(world, factory_manager):
    """The world's enrolment, confirmed, made 30 days ago, in a cohort whose classroom was
    20 and 19 days ago."""
    enrolment_services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    Cohort.objects.filter(pk=world.cohort.pk).update(
        classroom_start=CLASSROOM_START, classroom_end=CLASSROOM_END
    )
    Enrolment.objects.filter(pk=world.enrolment.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    return Enrolment.objects.select_related("cohort", "module").get(pk=world.enrolment.pk)


@pytest.fixture
def absenteeism(catalogue):
    return KPIDefinition.objects.get(code="absenteeism")


def _record(enrolment, actor, kpi, kind="baseline", value="8", measured_on=None):
    return services.record_kpi_reading(
        enrolment=enrolment,
        actor=actor,
        kpi=kpi,
        kind=kind,
        value=Decimal(value),
        measured_on=measured_on or CLASSROOM_START - DAY,
    )


def _refused(field, enrolment, actor, kpi, **kwargs):
    with pytest.raises(KPIReadingError) as refusal:
        _record(enrolment, actor, kpi, **kwargs)
    assert field in refusal.value.errors, refusal.value.errors
    return refusal.value.errors[field]


# --- The catalogue's kinds and ranges -----------------------------------------------------


def test_catalogue_kpis_have_kinds_and_ranges(catalogue):
    kinds = dict(KPIDefinition.objects.values_list("code", "kind"))
    assert kinds["absenteeism"] == "percentage"
    assert kinds["defect-rate"] == "percentage"
    assert kinds["on-time-delivery"] == "percentage"
    assert kinds["accidents"] == "count"
    assert kinds["suggestions-implemented"] == "count"
    assert kinds["labour-productivity"] == "rate"
    turnover = KPIDefinition.objects.get(code="staff-turnover")
    assert (turnover.lowest, turnover.highest) == (0, 1000)
    assert KPIDefinition.objects.get(code="absenteeism").highest == 100


def test_definition_range_is_kept_by_the_database(catalogue):
    from django.db import IntegrityError, transaction

    for bad in ({"kind": "percentage", "max_value": 150}, {"min_value": -1}):
        with pytest.raises(IntegrityError), transaction.atomic():
            KPIDefinition.objects.create(code="x", name="X", unit="%", direction="up", **bad)
    with pytest.raises(IntegrityError), transaction.atomic():
        KPIDefinition.objects.create(
            code="y", name="Y", unit="u", direction="up", min_value=5, max_value=2
        )


# --- Values ---------------------------------------------------------------------------------


def test_percentage_above_100_is_refused(running, trainer, absenteeism):
    message = _refused("value", running, trainer, absenteeism, value="150")
    assert "0 to 100 %" in message and "150" in message
    assert not KPIReading.objects.exists()


def test_negative_rate_is_refused(running, trainer, catalogue):
    running.module.kpis.add(KPIDefinition.objects.get(code="staff-turnover"))
    turnover = KPIDefinition.objects.get(code="staff-turnover")
    message = _refused("value", running, trainer, turnover, value="-3")
    assert "0 to 1000" in message and "-3" in message
    assert "1000" in _refused("value", running, trainer, turnover, value="1200")
    _record(running, trainer, turnover, value="140")  # more than the workforce: possible


def test_counts_are_whole_numbers(running, factory_manager):
    suggestions = KPIDefinition.objects.get(code="suggestions-implemented")
    assert "whole numbers" in _refused("value", running, factory_manager, suggestions, value="2.5")
    _record(running, factory_manager, suggestions, value="3")


def test_bounds_are_allowed(running, trainer, absenteeism):
    _record(running, trainer, absenteeism, value="100")
    assert KPIReading.objects.get().value == 100


# --- Dates ----------------------------------------------------------------------------------


def test_future_date_is_refused(running, trainer, absenteeism):
    Cohort.objects.filter(pk=running.cohort_id).update(
        classroom_start=TODAY + 30 * DAY, classroom_end=TODAY + 31 * DAY
    )
    running.refresh_from_db()
    message = _refused("measured_on", running, trainer, absenteeism, measured_on=TODAY + DAY)
    assert "in the future" in message and _day(TODAY + DAY) in message


def test_baseline_is_before_or_on_the_classroom(running, trainer, absenteeism):
    message = _refused(
        "measured_on", running, trainer, absenteeism, measured_on=CLASSROOM_START + DAY
    )
    assert _day(CLASSROOM_START) in message and _day(CLASSROOM_START + DAY) in message
    _record(running, trainer, absenteeism, measured_on=CLASSROOM_START)


def test_baseline_at_most_a_year_before_the_enrolment(running, trainer, absenteeism):
    enrolled = timezone.localdate(running.created_at)
    too_old = enrolled - 366 * DAY
    assert "a year" in _refused("measured_on", running, trainer, absenteeism, measured_on=too_old)
    _record(running, trainer, absenteeism, measured_on=enrolled - 365 * DAY)


def test_follow_up_needs_the_baseline_first(running, trainer, absenteeism):
    message = _refused("kind", running, trainer, absenteeism, kind="follow_up", measured_on=TODAY)
    assert "baseline of Absenteeism first" in message


def test_follow_up_is_after_the_baseline_and_the_classroom(running, trainer, absenteeism):
    _record(running, trainer, absenteeism, measured_on=CLASSROOM_START - 5 * DAY)
    message = _refused(
        "measured_on",
        running,
        trainer,
        absenteeism,
        kind="follow_up",
        measured_on=CLASSROOM_START - 5 * DAY,
    )
    assert "after the baseline" in message
    message = _refused(
        "measured_on", running, trainer, absenteeism, kind="follow_up", measured_on=CLASSROOM_END
    )
    assert "after the classroom" in message and _day(CLASSROOM_END) in message
    _record(running, trainer, absenteeism, kind="follow_up", measured_on=CLASSROOM_END + DAY)


def test_second_baseline_is_refused_correct_it_instead(running, trainer, absenteeism):
    _record(running, trainer, absenteeism, value="8")
    assert "correct it instead" in _refused("kind", running, trainer, absenteeism, value="9")
    assert KPIReading.objects.get().value == 8  # never silently overwritten


def test_only_the_factory_and_its_trainer_record(running, brand_staff, provider_staff, absenteeism):
    for outsider in (brand_staff, provider_staff):
        with pytest.raises(TrainingError, match="Only the factory and its trainer"):
            _record(running, outsider, absenteeism)


def test_several_problems_are_reported_together(running, trainer, absenteeism):
    with pytest.raises(KPIReadingError) as refusal:
        _record(running, trainer, absenteeism, value="-1", measured_on=TODAY + DAY)
    assert set(refusal.value.errors) == {"value", "measured_on"}


# --- Latest by date -------------------------------------------------------------------------


def test_latest_means_latest_by_measured_date(running, trainer, absenteeism):
    _record(running, trainer, absenteeism, value="8")
    _record(running, trainer, absenteeism, kind="follow_up", value="5", measured_on=TODAY)
    # Recorded afterwards, but measured earlier: not the latest.
    _record(running, trainer, absenteeism, kind="follow_up", value="7", measured_on=TODAY - DAY)
    enrolment = Enrolment.objects.get(pk=running.pk)
    [progress] = progress_of(enrolment).kpis
    assert progress.latest == 5


# --- Correction and deletion ----------------------------------------------------------------


def test_correction_needs_a_reason_and_keeps_history(
    running, trainer, factory_manager, absenteeism
):
    reading = _record(running, trainer, absenteeism, value="80")
    with pytest.raises(KPIReadingError) as refusal:
        services.correct_kpi_reading(
            reading=reading,
            actor=factory_manager,
            value=Decimal("8"),
            measured_on=reading.measured_on,
            reason="  ",
        )
    assert "reason" in refusal.value.errors
    services.correct_kpi_reading(
        reading=reading,
        actor=factory_manager,
        value=Decimal("8"),
        measured_on=reading.measured_on,
        reason="Typed 80 for 8",
    )
    reading.refresh_from_db()
    assert reading.value == 8
    latest, first = reading.history.all()[:2]
    assert (latest.history_type, latest.history_user, latest.history_change_reason) == (
        "~",
        factory_manager,
        "Typed 80 for 8",
    )
    assert (first.history_type, first.history_user, first.value) == ("+", trainer, 80)


def test_correction_obeys_the_rules(running, trainer, absenteeism):
    baseline = _record(
        running, trainer, absenteeism, value="8", measured_on=CLASSROOM_START - 3 * DAY
    )
    _record(running, trainer, absenteeism, kind="follow_up", value="6", measured_on=TODAY - 2 * DAY)
    with pytest.raises(KPIReadingError) as refusal:
        services.correct_kpi_reading(
            reading=baseline,
            actor=trainer,
            value=Decimal("101"),
            measured_on=TODAY - DAY,
            reason="r",
        )
    assert set(refusal.value.errors) == {"value", "measured_on"}
    baseline.refresh_from_db()
    assert baseline.value == 8


def test_follow_up_not_after_completion(running, trainer, absenteeism):
    _record(running, trainer, absenteeism, value="8")
    follow_up = _record(
        running, trainer, absenteeism, kind="follow_up", value="6", measured_on=TODAY - 5 * DAY
    )
    Enrolment.objects.filter(pk=running.pk).update(
        status="completed", completed_at=timezone.now() - datetime.timedelta(days=3)
    )
    follow_up = KPIReading.objects.get(pk=follow_up.pk)
    with pytest.raises(KPIReadingError, match="completed on"):
        services.correct_kpi_reading(
            reading=follow_up,
            actor=trainer,
            value=Decimal("6"),
            measured_on=TODAY - DAY,
            reason="r",
        )
    # A completed enrolment's reading is still corrected (a mistake stays a mistake).
    services.correct_kpi_reading(
        reading=follow_up,
        actor=trainer,
        value=Decimal("5"),
        measured_on=TODAY - 5 * DAY,
        reason="r",
    )


def test_deletion_needs_a_reason_and_a_baseline_goes_last(
    running, trainer, factory_manager, absenteeism
):
    baseline = _record(running, trainer, absenteeism, value="8")
    follow_up = _record(
        running, trainer, absenteeism, kind="follow_up", value="6", measured_on=TODAY
    )
    with pytest.raises(KPIReadingError, match="reason"):
        services.delete_kpi_reading(reading=follow_up, actor=factory_manager, reason="")
    with pytest.raises(KPIReadingError, match="delete them first"):
        services.delete_kpi_reading(reading=baseline, actor=factory_manager, reason="wrong")
    services.delete_kpi_reading(reading=follow_up, actor=factory_manager, reason="Wrong month")
    services.delete_kpi_reading(reading=baseline, actor=trainer, reason="Wrong factory")
    assert not KPIReading.objects.exists()
    deleted = KPIReading.history.filter(history_type="-").order_by("history_date")
    assert [(h.history_user, h.history_change_reason) for h in deleted] == [
        (factory_manager, "Wrong month"),
        (trainer, "Wrong factory"),
    ]


def test_brand_and_provider_staff_cannot_correct_or_delete(
    running, trainer, brand_staff, provider_staff, ilo_admin, absenteeism
):
    reading = _record(running, trainer, absenteeism)
    for outsider in (brand_staff, provider_staff, ilo_admin):
        with pytest.raises(TrainingError, match="Only the factory and its trainer"):
            services.correct_kpi_reading(
                reading=reading,
                actor=outsider,
                value=Decimal("1"),
                measured_on=reading.measured_on,
                reason="r",
            )
        with pytest.raises(TrainingError, match="Only the factory and its trainer"):
            services.delete_kpi_reading(reading=reading, actor=outsider, reason="r")


# --- Stored readings that break the rules ---------------------------------------------------


def test_kpi_violations_lists_stored_readings_that_break_rules(running, absenteeism):
    good = KPIReading.objects.create(
        enrolment=running, kpi=absenteeism, kind="baseline", value=8, measured_on=CLASSROOM_START
    )
    too_high = KPIReading.objects.create(
        enrolment=running, kpi=absenteeism, kind="follow_up", value=150, measured_on=TODAY
    )
    future = KPIReading.objects.create(
        enrolment=running, kpi=absenteeism, kind="follow_up", value=5, measured_on=TODAY + 100 * DAY
    )
    before_baseline = KPIReading.objects.create(
        enrolment=running, kpi=absenteeism, kind="follow_up", value=5, measured_on=CLASSROOM_START
    )
    rows = kpi_violations()
    found = {(obj.pk, rule) for obj, rule, _message in rows}
    assert (too_high.pk, "kpi-value-out-of-range") in found
    assert (future.pk, "kpi-future") in found
    assert (before_baseline.pk, "kpi-follow-up-before-baseline") in found
    assert (good.pk, "kpi-baseline-after-follow-up") in found  # the baseline is not first
    assert all(isinstance(message, str) and message for _obj, _rule, message in rows)
    assert KPIReading.objects.count() == 4  # lists, changes nothing


def test_kpi_violations_sees_a_baseline_after_a_later_placed_classroom(running, absenteeism):
    KPIReading.objects.create(
        enrolment=running, kpi=absenteeism, kind="baseline", value=8, measured_on=CLASSROOM_START
    )
    assert kpi_violations() == []
    Cohort.objects.filter(pk=running.cohort_id).update(classroom_start=CLASSROOM_START - 3 * DAY)
    [(_reading, rule, message)] = kpi_violations()
    assert rule == "kpi-baseline-after-classroom"
    assert _day(CLASSROOM_START - 3 * DAY) in message


# --- Consent, per funding brand -------------------------------------------------------------


def test_consent_is_per_funding_brand(running, factory_manager, brand, other_brand):
    services.set_kpi_consent(enrolment=running, actor=factory_manager, shared=True)
    assert list(KPIConsent.objects.values_list("factory_id", "partner_id")) == [
        (running.factory_id, brand.pk)
    ]
    assert services.has_kpi_consent(running)
    services.set_kpi_consent(enrolment=running, actor=factory_manager, shared=True)  # again
    assert KPIConsent.objects.count() == 1
    services.set_kpi_consent(enrolment=running, actor=factory_manager, shared=False)
    assert not services.has_kpi_consent(running)


def test_only_the_factory_consents(running, trainer, brand_staff):
    for person in (trainer, brand_staff):
        with pytest.raises(TrainingError):
            services.set_kpi_consent(enrolment=running, actor=person, shared=True)


# --- Views ----------------------------------------------------------------------------------


def _record_url(enrolment):
    return reverse("training:kpi_record", args=[enrolment.pk])


def _post_reading(user: User, enrolment, kpi, **fields):
    data = {
        "kpi-kpi": kpi.pk,
        "kpi-kind": "baseline",
        "kpi-value": "8",
        "kpi-measured_on": (CLASSROOM_START - DAY).isoformat(),
    }
    data.update({f"kpi-{k}": v for k, v in fields.items()})
    return client_for(user).post(_record_url(enrolment), data)


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"value": "150"}, "value", "0 to 100 %"),
        ({"value": "-3"}, "value", "outside that range"),
        ({"measured_on": (TODAY + DAY).isoformat()}, "measured_on", "in the future"),
        (
            {"measured_on": (CLASSROOM_START + DAY).isoformat()},
            "measured_on",
            "before the classroom",
        ),
    ],
)
def test_refused_reading_comes_back_with_typed_values_and_the_error_beside_its_field(
    running, factory_manager, absenteeism, fields, field, text
):
    response = _post_reading(factory_manager, running, absenteeism, **fields)
    assert response.status_code == 400
    page = response.text
    error_at = page.index(f'id="id_kpi-{field}_error"')
    assert text in page[error_at : error_at + 600]
    typed = fields.get("value") or fields.get("measured_on")
    assert f'value="{typed}"' in page  # what was typed is still there
    assert '<details class="panel" id="record-kpi" open>' in page
    assert not KPIReading.objects.exists()


def test_reading_recorded_through_the_page(running, trainer, absenteeism):
    response = _post_reading(trainer, running, absenteeism)
    assert response.status_code == 302
    assert KPIReading.objects.get().recorded_by == trainer


def test_form_shows_each_kpis_range(running, factory_manager):
    page = client_for(factory_manager).get(running.get_absolute_url()).text
    assert "Absenteeism: 0 to 100 %" in page
    assert "Worker suggestions implemented: 0 or more per month, whole numbers" in page


@pytest.mark.parametrize("persona", ["brand_staff", "provider_staff", "other_factory_manager"])
def test_outsiders_get_404_on_every_kpi_action(request, running, trainer, absenteeism, persona):
    reading = _record(running, trainer, absenteeism)
    user = request.getfixturevalue(persona)
    client = client_for(user)
    correct = reverse("training:kpi_correct", args=[running.pk, reading.pk])
    delete = reverse("training:kpi_delete", args=[running.pk, reading.pk])
    assert client.get(correct).status_code == 404
    assert (
        client.post(
            correct,
            {
                "correct-value": "1",
                "correct-measured_on": reading.measured_on.isoformat(),
                "correct-reason": "r",
            },
        ).status_code
        == 404
    )
    assert client.post(delete, {"delete-reason": "r"}).status_code == 404
    assert (
        _post_reading(
            user, running, absenteeism, kind="follow_up", measured_on=TODAY.isoformat()
        ).status_code
        == 404
    )
    reading.refresh_from_db()
    assert reading.value == 8


def test_a_reading_of_another_enrolment_is_not_found(
    running, trainer, factory_manager, absenteeism, world
):
    reading = _record(running, trainer, absenteeism)
    url = reverse("training:kpi_correct", args=[running.pk, reading.pk + 1000])
    assert client_for(factory_manager).get(url).status_code == 404


@pytest.mark.parametrize("persona", ["factory_manager", "trainer"])
def test_correction_through_the_page(request, running, trainer, absenteeism, persona):
    reading = _record(running, trainer, absenteeism, value="80")
    user = request.getfixturevalue(persona)
    client = client_for(user)
    url = reverse("training:kpi_correct", args=[running.pk, reading.pk])
    assert client.get(url).status_code == 200
    data = {"correct-value": "8", "correct-measured_on": reading.measured_on.isoformat()}
    response = client.post(url, {**data, "correct-reason": ""})
    assert response.status_code == 400
    assert 'id="id_correct-reason_error"' in response.text
    assert 'value="8"' in response.text  # the typed value is kept
    response = client.post(url, {**data, "correct-value": "180", "correct-reason": "typo"})
    assert response.status_code == 400 and "outside that range" in response.text
    response = client.post(url, {**data, "correct-reason": "Typed 80 for 8"})
    assert response.status_code == 302
    reading.refresh_from_db()
    assert reading.value == 8
    page = client.get(running.get_absolute_url()).text
    assert "Typed 80 for 8" in page and "80 → 8" in page


@pytest.mark.parametrize("persona", ["factory_manager", "trainer"])
def test_deletion_through_the_page(request, running, trainer, absenteeism, persona):
    reading = _record(running, trainer, absenteeism)
    client = client_for(request.getfixturevalue(persona))
    url = reverse("training:kpi_delete", args=[running.pk, reading.pk])
    response = client.post(url, {"delete-reason": " "})
    assert response.status_code == 400 and 'id="id_delete-reason_error"' in response.text
    assert KPIReading.objects.exists()
    assert client.post(url, {"delete-reason": "Another factory's figure"}).status_code == 302
    assert not KPIReading.objects.exists()
    assert "Another factory&#x27;s figure" in client.get(running.get_absolute_url()).text


def test_who_sees_readings_and_their_history(
    running, trainer, factory_manager, brand_staff, provider_staff, ilo_admin, absenteeism
):
    reading = _record(running, trainer, absenteeism, value="9.5")
    services.correct_kpi_reading(
        reading=reading,
        actor=trainer,
        value=Decimal("9.25"),
        measured_on=reading.measured_on,
        reason="Recount",
    )
    url = running.get_absolute_url()
    cell = f"<td>9.25 {absenteeism.unit}</td>"

    def page(user):
        return client_for(user).get(url).text

    for insider in (factory_manager, trainer, ilo_admin):
        text = page(insider)
        assert cell in text and "Recount" in text
    # The provider's other staff see the enrolment, never its readings.
    text = page(provider_staff)
    assert cell not in text and "Recount" not in text and "Absenteeism" not in text
    # The brand: nothing without consent; the readings with it, never their history.
    assert cell not in page(brand_staff)
    services.set_kpi_consent(enrolment=running, actor=factory_manager, shared=True)
    text = page(brand_staff)
    assert cell in text and "Recount" not in text and "Correct or delete" not in text


def test_the_admin_shows_readings_read_only(running, trainer, ilo_admin, absenteeism):
    reading = _record(running, trainer, absenteeism)
    client = client_for(ilo_admin)
    url = reverse("admin:training_kpireading_change", args=[reading.pk])
    assert client.get(reverse("admin:training_kpireading_changelist")).status_code == 200
    assert client.get(url).status_code == 200
    response = client.post(url, {"value": "99", "measured_on": reading.measured_on.isoformat()})
    assert response.status_code == 403
    delete = reverse("admin:training_kpireading_delete", args=[reading.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    reading.refresh_from_db()
    assert reading.value == 8
