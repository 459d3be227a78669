"""The training rules checked on stored records (``manage.py check_training_records``).

Each check runs the same rule functions the services run before they write
(``training/chronology.py``) over the rows already stored, and changes nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.db.models import Count, Q
from django.utils import timezone

from score_portal.record_checks import Violation, register
from training import chronology
from training.models import Certificate, ConsultingVisit, Enrolment


@register("visit_dates")
def visit_dates(today: datetime.date) -> Iterator[Violation]:
    """Baseline on or before the classroom, follow-ups after it and in number order, nothing
    in the future."""
    visits = (
        ConsultingVisit.objects.select_related("enrolment__cohort")
        .order_by("enrolment_id", "kind", "number", "pk")
        .iterator(chunk_size=2000)
    )
    enrolment_id = None
    earlier: list[ConsultingVisit] = []
    for visit in visits:
        if visit.enrolment_id != enrolment_id:
            enrolment_id, earlier = visit.enrolment_id, []
        refusal = chronology.visit_refusal(
            kind=visit.kind,
            visited_on=visit.visited_on,
            cohort=visit.enrolment.cohort,
            earlier_follow_ups=earlier if visit.kind == ConsultingVisit.Kind.FOLLOW_UP else (),
            today=today,
        )
        if refusal:
            yield Violation(visit, "visit_dates", refusal)
        if visit.kind == ConsultingVisit.Kind.FOLLOW_UP:
            earlier.append(visit)


def _completed() -> Iterator[Enrolment]:
    return (
        Enrolment.objects.filter(status=Enrolment.Status.COMPLETED)
        .select_related("cohort", "module")
        .annotate(follow_ups=Count("visits", filter=Q(visits__kind=ConsultingVisit.Kind.FOLLOW_UP)))
        .order_by("pk")
        .iterator(chunk_size=2000)
    )


@register("completion_dates")
def completion_dates(today: datetime.date) -> Iterator[Violation]:
    """Completed from the classroom's last day on, and not in the future."""
    for enrolment in _completed():
        assert enrolment.completed_at is not None  # a database constraint
        completed_on = timezone.localdate(enrolment.completed_at)
        refusal = chronology.future_refusal(completed_on, today) or (
            chronology.completion_date_refusal(cohort=enrolment.cohort, on=completed_on)
        )
        if refusal:
            yield Violation(enrolment, "completion_dates", refusal)


@register("completion_visits")
def completion_visits(today: datetime.date) -> Iterator[Violation]:
    """Completed with the module's follow-up visits logged."""
    for enrolment in _completed():
        refusal = chronology.follow_ups_refusal(
            logged=enrolment.follow_ups,  # type: ignore[attr-defined]
            required=enrolment.module.followup_visits,
        )
        if refusal:
            yield Violation(enrolment, "completion_visits", refusal)


@register("certificate_dates")
def certificate_dates(today: datetime.date) -> Iterator[Violation]:
    """A certificate belongs to a completed enrolment and is dated on or after its completion
    and the classroom's last day."""
    certificates = (
        Certificate.objects.filter(
            Q(issued_at__isnull=False) | Q(status=Certificate.Status.PENDING)
        )
        .select_related("enrolment__cohort")
        .order_by("pk")
        .iterator(chunk_size=2000)
    )
    for certificate in certificates:
        enrolment = certificate.enrolment
        completed = enrolment.status == Enrolment.Status.COMPLETED and enrolment.completed_at
        refusal = chronology.certificate_refusal(
            completed_on=timezone.localdate(enrolment.completed_at) if completed else None,
            classroom_end=enrolment.cohort.classroom_end if enrolment.cohort else None,
            issued_on=(
                timezone.localdate(certificate.issued_at) if certificate.issued_at else today
            ),
        )
        if refusal and (
            completed
            or certificate.status in (Certificate.Status.PENDING, Certificate.Status.ISSUED)
        ):
            yield Violation(certificate, "certificate_dates", refusal)


@register("kpi_readings")
def kpi_readings(today: datetime.date) -> Iterator[Violation]:
    """KPI readings out of their KPI's range, in the future, or outside the cycle's dates
    (``training.kpi_rules``: the rules the KPI service runs before it writes)."""
    from training.kpi_rules import kpi_violations

    for reading, rule, message in kpi_violations():
        yield Violation(reading, rule, message)


@register("attendance")
def attendance(today: datetime.date) -> Iterator[Violation]:
    """Attendance ticks outside the classroom, for days not begun or recorded before their
    day, and participants whose summary disagrees with their ticks
    (``training.services.attendance``)."""
    from training.services.attendance import attendance_violations

    for obj, rule, message in attendance_violations():
        yield Violation(obj, rule, message)
