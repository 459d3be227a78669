"""The cycle runs in time order (issue 17, point 2) and one transition table per stateful model
decides what may happen (point 1): services refuse, naming the dates; pages show a button
exactly when its move is allowed; ``check_training_records`` lists stored rows that break
the rules."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from score_portal import jobs, record_checks
from suppliers import services as supplier_services
from suppliers.models import SupplierImport
from tests.conftest import client_for, hold_classroom
from tests.factories import held_classroom, mark_completed
from training.chronology import day
from training.models import Certificate, Cohort, ConsultingVisit, Enrolment, Module
from training.services import certificates as certificate_services
from training.services import enrolment as services
from training.services.enrolment import TrainingError

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


def set_classroom(cohort: Cohort, start: datetime.date, end: datetime.date) -> None:
    Cohort.objects.filter(pk=cohort.pk).update(classroom_start=start, classroom_end=end)
    cohort.refresh_from_db()


def visit(enrolment, trainer, kind, on, **extra):
    return services.record_visit(
        enrolment=enrolment, actor=trainer, kind=kind, visited_on=on, **extra
    )


# --- Visits -------------------------------------------------------------------------------


def test_the_baseline_comes_on_or_before_the_classroom_start(confirmed, trainer):
    set_classroom(confirmed.cohort, days(-5), days(-4))
    with pytest.raises(TrainingError) as refused:
        visit(confirmed, trainer, "baseline", days(-4))
    assert str(refused.value) == (
        f"The intake / baseline visit comes before the classroom: {day(days(-4))} is after "
        f"the classroom's first day, {day(days(-5))}."
    )
    assert refused.value.field == "visited_on"
    assert not confirmed.visits.exists()
    visit(confirmed, trainer, "baseline", days(-5))  # the first classroom day itself
    assert confirmed.visits.get().visited_on == days(-5)


def test_follow_ups_come_after_the_classroom_s_last_day(confirmed, trainer):
    set_classroom(confirmed.cohort, days(-10), days(-9))
    visit(confirmed, trainer, "baseline", days(-12))
    with pytest.raises(TrainingError) as refused:
        visit(confirmed, trainer, "follow_up", days(-9))
    assert str(refused.value) == (
        f"Follow-up visits come after the classroom: {day(days(-9))} is not after the "
        f"classroom's last day, {day(days(-9))}."
    )
    with pytest.raises(TrainingError, match="Follow-up visits come after the classroom"):
        visit(confirmed, trainer, "year_after", days(-10))
    first = visit(confirmed, trainer, "follow_up", days(-8))  # the day after: accepted
    assert first.number == 1


def test_a_visit_before_the_classroom_held_in_the_future_is_refused(confirmed, trainer):
    """The defect seen: follow-up visits dated before a classroom on 26 December."""
    visit(confirmed, trainer, "baseline", TODAY)
    with pytest.raises(TrainingError, match=day(confirmed.cohort.classroom_end)):
        visit(confirmed, trainer, "follow_up", TODAY)


def test_follow_ups_are_numbered_in_date_order(confirmed, trainer):
    set_classroom(confirmed.cohort, days(-30), days(-29))
    visit(confirmed, trainer, "baseline", days(-31))
    visit(confirmed, trainer, "follow_up", days(-20))
    visit(confirmed, trainer, "follow_up", days(-10))
    with pytest.raises(TrainingError) as refused:
        visit(confirmed, trainer, "follow_up", days(-15))
    assert str(refused.value) == (
        f"Follow-up visits are numbered in date order: visit 2 is dated {day(days(-10))}, "
        f"so the next one cannot be dated {day(days(-15))}, before it."
    )
    third = visit(confirmed, trainer, "follow_up", days(-10))  # the same day: in order
    assert third.number == 3
    numbers = list(confirmed.visits.filter(kind="follow_up").order_by("visited_on", "number"))
    assert [v.number for v in numbers] == [1, 2, 3]


def test_nothing_is_dated_in_the_future(confirmed, trainer):
    set_classroom(confirmed.cohort, days(-3), days(-2))
    with pytest.raises(TrainingError) as refused:
        visit(confirmed, trainer, "baseline", days(1))
    assert str(refused.value) == (
        f"A visit is recorded once it has happened: {day(days(1))} is in the future "
        f"(today is {day(TODAY)})."
    )
    visit(confirmed, trainer, "baseline", days(-3))
    visit(confirmed, trainer, "follow_up", TODAY)  # today is not the future


# --- Completion and certificates ------------------------------------------------------------


def test_completion_waits_for_the_classroom_s_end(delivered, trainer):
    """A classroom that has not happened yet cannot be completed, let alone certified."""
    set_classroom(delivered.cohort, days(20), days(21))
    with pytest.raises(TrainingError) as refused:
        services.complete_enrolment(enrolment=delivered, actor=trainer)
    assert (
        f"The classroom ends on {day(days(21))}: the module can be completed from that day "
        f"on, not on {day(TODAY)}." in str(refused.value)
    )
    delivered.refresh_from_db()
    assert delivered.status == "in_progress"
    assert not Certificate.objects.filter(enrolment=delivered).exists()


def test_completion_on_the_classroom_s_last_day(confirmed, trainer, factory_manager, module_1):
    """The boundary day: a module without follow-up visits completes on its last day."""
    Module.objects.filter(pk=module_1.pk).update(followup_visits=0)
    confirmed.module.refresh_from_db()
    set_classroom(confirmed.cohort, days(-1), TODAY)
    services.name_participants(
        enrolment=confirmed,
        actor=factory_manager,
        participants=[{"name": "王芳", "role": "manager", "gender": "woman"}],
    )
    visit(confirmed, trainer, "baseline", days(-2))
    hold_classroom(confirmed, trainer)  # the register: every classroom day ticked
    services.add_improvement_action(
        enrolment=confirmed, actor=factory_manager, description="5S", owner="EIT", due_date=TODAY
    )
    assert services.completion_refusals(confirmed, on=days(-1))  # the day before: refused
    services.complete_enrolment(enrolment=confirmed, actor=trainer)
    confirmed.refresh_from_db()
    assert confirmed.status == "completed"


def test_completion_needs_the_module_s_follow_up_visits(confirmed, trainer, factory_manager):
    held_classroom(confirmed.cohort)
    visit(confirmed, trainer, "baseline", days(-45))
    visit(confirmed, trainer, "follow_up", days(-20))
    with pytest.raises(TrainingError, match="Follow-up visit 2, Follow-up visit 3"):
        services.complete_enrolment(enrolment=confirmed, actor=trainer)


def test_no_certificate_for_a_classroom_not_yet_held(world):
    mark_completed(world.enrolment)
    set_classroom(world.enrolment.cohort, days(5), days(6))
    with pytest.raises(certificate_services.CertificateError) as refused:
        certificate_services.request_certificate(enrolment=world.enrolment)
    assert str(refused.value) == (
        f"A certificate cannot be issued on {day(TODAY)} for a classroom that ends on "
        f"{day(days(6))}."
    )


def test_no_certificate_dated_before_the_completion(world):
    mark_completed(world.enrolment)
    Enrolment.objects.filter(pk=world.enrolment.pk).update(
        completed_at=timezone.now() + datetime.timedelta(days=3)
    )
    world.enrolment.refresh_from_db()
    with pytest.raises(certificate_services.CertificateError, match="before the completion"):
        certificate_services.request_certificate(enrolment=world.enrolment)


def test_a_certificate_on_the_classroom_s_last_day(world, django_capture_on_commit_callbacks):
    mark_completed(world.enrolment)
    set_classroom(world.enrolment.cohort, days(-1), TODAY)
    with django_capture_on_commit_callbacks(execute=False):
        certificate = certificate_services.request_certificate(enrolment=world.enrolment)
    assert certificate.status == Certificate.Status.PENDING


# --- Through the web forms ------------------------------------------------------------------


def test_a_visit_before_the_classroom_comes_back_beside_the_date_with_what_was_typed(
    confirmed, trainer
):
    client = client_for(trainer)
    url = reverse("training:enrolment_act", args=[confirmed.pk, "visit"])
    visit(confirmed, trainer, "baseline", TODAY)
    response = client.post(
        url,
        {"visit-kind": "follow_up", "visit-visited_on": TODAY.isoformat(), "visit-notes": "Kept"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_visit-visited_on_error"' in page
    assert "Follow-up visits come after the classroom" in page
    assert day(confirmed.cohort.classroom_end) in page
    assert f'value="{TODAY.isoformat()}"' in page  # the date as typed
    assert "Kept</textarea>" in page  # and the notes
    assert confirmed.visits.count() == 1


def test_a_visit_form_with_no_date_keeps_the_notes(confirmed, trainer):
    response = client_for(trainer).post(
        reverse("training:enrolment_act", args=[confirmed.pk, "visit"]),
        {"visit-kind": "baseline", "visit-visited_on": "31/02/2026", "visit-notes": "Typed"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_visit-visited_on_error"' in page and "Typed</textarea>" in page


def test_early_completion_through_the_page_is_refused_naming_the_date(delivered, trainer):
    set_classroom(delivered.cohort, days(20), days(21))
    client = client_for(trainer)
    response = client.post(
        reverse("training:enrolment_act", args=[delivered.pk, "complete"]), follow=True
    )
    page = response.content.decode()
    assert f"The classroom ends on {day(days(21))}" in page
    delivered.refresh_from_db()
    assert delivered.status == "in_progress"
    assert not Certificate.objects.filter(enrolment=delivered).exists()


# --- One transition table, asked by the pages -----------------------------------------------


def test_the_enrolment_table_is_the_one_documented():
    E = Enrolment.Status
    assert dict(services.TRANSITIONS.moves) == {
        (E.PENDING, E.CONFIRMED): "factory",
        (E.PENDING, E.DECLINED): "factory",
        (E.CONFIRMED, E.IN_PROGRESS): "trainer",
        (E.IN_PROGRESS, E.COMPLETED): "trainer",
        (E.PENDING, E.WITHDRAWN): "funder",
        (E.CONFIRMED, E.WITHDRAWN): "funder",
        (E.IN_PROGRESS, E.WITHDRAWN): "funder",
    }


def test_the_worker_s_moves_are_the_tables(world):
    """Imports and certificates move by the job mechanism too: its moves are in the table."""
    import_workers = {
        move for move, who in supplier_services.TRANSITIONS.moves.items() if who != "brand"
    }
    assert jobs.moves_of(SupplierImport) == import_workers
    certificate_workers = {
        move for move, who in certificate_services.TRANSITIONS.moves.items() if who == "worker"
    }
    assert jobs.moves_of(Certificate) == certificate_workers


def _buttons(user, enrolment) -> dict[str, bool]:
    page = client_for(user).get(enrolment.get_absolute_url()).content.decode()
    return {
        action: reverse("training:enrolment_act", args=[enrolment.pk, action]) in page
        for action in ("confirm", "decline", "complete", "withdraw")
    }


@pytest.mark.parametrize("status", [s for s, _label in Enrolment.Status.choices])
def test_each_button_shows_exactly_when_its_move_is_allowed(
    world, status, factory_manager, trainer, brand_staff, ilo_admin
):
    enrolment = world.enrolment
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status=status, completed_at=timezone.now(), withdrawal_reason="x"
    )
    enrolment.refresh_from_db()
    moves_to_actions = {
        Enrolment.Status.CONFIRMED: "confirm",
        Enrolment.Status.DECLINED: "decline",
        Enrolment.Status.COMPLETED: "complete",
        Enrolment.Status.WITHDRAWN: "withdraw",
    }
    for user in (factory_manager, trainer, brand_staff, ilo_admin):
        allowed = {
            moves_to_actions[to]
            for to in services.allowed_moves(enrolment, user)
            if to in moves_to_actions
        }
        shown = {action for action, present in _buttons(user, enrolment).items() if present}
        assert shown == allowed, (status, user.email)


def test_a_move_outside_the_table_is_refused_whoever_asks(confirmed, factory_manager):
    with pytest.raises(TrainingError, match="“Confirmed” cannot move to “Confirmed”"):
        services.confirm_enrolment(enrolment=confirmed, actor=factory_manager)


def test_certificate_buttons_follow_the_table(world, ilo_admin, django_capture_on_commit_callbacks):
    mark_completed(world.enrolment)
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_services.request_certificate(enrolment=world.enrolment)
    certificate.refresh_from_db()
    client = client_for(ilo_admin)
    revoke = reverse("training:certificate_revoke", args=[certificate.pk])
    reissue = reverse("training:certificate_reissue", args=[certificate.pk])
    page = client.get(certificate.get_absolute_url()).content.decode()
    assert revoke in page and reissue in page  # issued: both
    certificate_services.revoke_certificate(certificate=certificate, actor=ilo_admin, reason="x")
    page = client.get(certificate.get_absolute_url()).content.decode()
    assert revoke not in page and reissue in page  # revoked: reissue only


# --- The records already stored -------------------------------------------------------------


def run_command(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_training_records", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def test_the_command_lists_records_that_break_the_rules_and_changes_nothing(
    world, trainer, django_capture_on_commit_callbacks
):
    assert run_command() == (0, "No record breaks the rules (6 checked).\n")
    enrolment = world.enrolment
    # As the portal once accepted them: a visit before a classroom still to come, a
    # completion and a certificate before it.
    bad_visit = ConsultingVisit.objects.create(
        enrolment=enrolment, kind="follow_up", number=1, visited_on=TODAY, trainer=trainer
    )
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status="completed", completed_at=timezone.now()
    )
    certificate = Certificate.objects.create(
        enrolment=enrolment, status="issued", issued_at=timezone.now()
    )
    code, output = run_command()
    assert code == 1
    lines = output.splitlines()
    assert (
        f"visit_dates: training.ConsultingVisit #{bad_visit.pk}: Follow-up visits come after "
        f"the classroom: {day(TODAY)} is not after the classroom's last day, "
        f"{day(world.cohort.classroom_end)}." in lines
    )
    assert any(
        line.startswith(
            f"completion_dates: training.Enrolment #{enrolment.pk}: The classroom ends on"
        )
        for line in lines
    )
    assert (
        f"completion_visits: training.Enrolment #{enrolment.pk}: "
        "The module asks for 3 follow-up visits; 1 logged." in lines
    )
    assert any(
        line.startswith(
            f"certificate_dates: training.Certificate #{certificate.pk}: "
            "A certificate cannot be issued on"
        )
        for line in lines
    )
    assert "4 record(s) break the rules." in lines
    # Nothing changed; one rule alone can be asked for.
    assert ConsultingVisit.objects.get(pk=bad_visit.pk).visited_on == TODAY
    code, output = run_command("visit_dates")
    assert code == 1 and output.count("visit_dates:") == 1
    assert run_command("no_such_rule")[0] == 2


def test_the_command_also_lists_kpi_readings_and_attendance_that_break_the_rules(
    world, confirmed, trainer, factory_manager
):
    """The KPI and register rules are in the same command (their own modules' checks)."""
    from training.models import Attendance, KPIDefinition, KPIReading, Participant

    absenteeism = KPIDefinition.objects.get(code="absenteeism")
    reading = KPIReading.objects.create(  # as the portal once accepted: 150 %
        enrolment=confirmed, kpi=absenteeism, kind="baseline", value=150, measured_on=TODAY
    )
    person = Participant.objects.create(
        enrolment=confirmed, name="Ayşe", role="manager", gender="woman"
    )
    tick = Attendance.objects.create(  # a classroom day still to come
        participant=person, day=world.cohort.classroom_start
    )
    code, output = run_command()
    assert code == 1
    assert f"training.KPIReading #{reading.pk}" in output
    assert f"training.Attendance #{tick.pk}" in output
    assert run_command("kpi_readings")[1].count("KPIReading") >= 1
    assert "Attendance" not in run_command("kpi_readings")[1]


def test_a_rule_added_to_the_registry_runs_with_the_others(world):
    seen = []

    def everything_fine(today):
        seen.append(today)
        return []

    record_checks.register("test_extra_rule")(everything_fine)
    try:
        assert "test_extra_rule" in run_command("--list")[1].split()
        assert run_command()[0] == 0
        assert seen == [timezone.localdate()]
    finally:
        record_checks._CHECKS.pop("test_extra_rule")


def test_the_demo_data_keeps_the_rules(db):
    call_command("load_demo", stdout=io.StringIO())
    assert run_command()[0] == 0
