"""The classroom attendance register: one per cohort, a tick per participant and day.

Every enterprise placed in the cohort is on it (its running and completed enrolments); the
register is saved at once. ``Attendance`` rows are the ticks; ``Participant.attended_classroom``
is kept with them (True: present on a day; False: absent from every day taken so far).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from score_portal.access import can_record_attendance
from score_portal.history import records_actor
from score_portal.models import User
from score_portal.scope import scope_of
from training.models import Attendance, Cohort, Enrolment, Participant
from training.services.enrolment import TrainingError, _start

E = Enrolment.Status
# The enrolments whose people sit in the classroom; of these, only running ones change.
REGISTER_STATUSES = (E.CONFIRMED, E.IN_PROGRESS, E.COMPLETED)
RUNNING = (E.CONFIRMED, E.IN_PROGRESS)


def classroom_days(cohort: Cohort) -> list[datetime.date]:
    """Every day from the classroom's first to its last."""
    span = (cohort.classroom_end - cohort.classroom_start).days
    return [cohort.classroom_start + datetime.timedelta(days=n) for n in range(max(span, 0) + 1)]


@dataclass
class RegisterRow:
    enrolment: Enrolment
    participant: Participant
    days: set[datetime.date] = field(default_factory=set)


@dataclass
class Register:
    cohort: Cohort
    days: list[datetime.date]
    begun: list[datetime.date]  # the days that have begun: only these take ticks
    rows: list[RegisterRow]
    without_participants: list[Enrolment]  # placed enterprises that have named nobody yet

    def is_open(self, row: RegisterRow) -> bool:
        return row.enrolment.status in RUNNING


def register_of(cohort: Cohort, *, today: datetime.date | None = None) -> Register:
    """The register as it stands: every placed enterprise's participants and their ticks."""
    today = today or timezone.localdate()
    enrolments = list(
        cohort.enrolments.filter(status__in=REGISTER_STATUSES)
        .select_related("factory")
        .prefetch_related("participants__attendances")
        .order_by("factory__name", "pk")
    )
    rows = []
    without = []
    for enrolment in enrolments:
        participants = sorted(enrolment.participants.all(), key=lambda p: (p.role, p.name, p.pk))
        if not participants:
            without.append(enrolment)
        for participant in participants:
            rows.append(
                RegisterRow(enrolment, participant, {a.day for a in participant.attendances.all()})
            )
    days = classroom_days(cohort)
    return Register(
        cohort=cohort,
        days=days,
        begun=[d for d in days if d <= today],
        rows=rows,
        without_participants=without,
    )


def classroom_day_refusal(cohort: Cohort, day: datetime.date, *, today: datetime.date) -> str:
    """Why attendance cannot be taken on ``day`` ("" when it can): it is one of the
    cohort's classroom days, and that day has begun."""
    if day not in classroom_days(cohort):
        return _("%(date)s is not a classroom day of this cohort (%(start)s – %(end)s).") % {
            "date": date_format(day, "DATE_FORMAT"),
            "start": date_format(cohort.classroom_start, "DATE_FORMAT"),
            "end": date_format(cohort.classroom_end, "DATE_FORMAT"),
        }
    if day > today:
        return _(
            "Attendance for %(date)s cannot be recorded yet: that classroom day has not begun."
        ) % {"date": date_format(day, "DATE_FORMAT")}
    return ""


def tick_name(participant_id: int, day: datetime.date) -> str:
    """The form name of one tick (participant and day)."""
    return f"p{participant_id}-{day:%Y%m%d}"


def parse_ticks(data: Any, register: Register) -> set[tuple[int, datetime.date]]:
    """The ticks a sent register holds, for the register's participants and days only."""
    return {
        (row.participant.pk, day)
        for row in register.rows
        for day in register.days
        if data.get(tick_name(row.participant.pk, day))
    }


@records_actor()
@transaction.atomic
def record_cohort_attendance(
    *,
    cohort: Cohort,
    actor: User,
    ticks: Iterable[tuple[int, datetime.date]],
    today: datetime.date | None = None,
) -> int:
    """Save the cohort's register at once: each running enrolment's participants present on
    exactly the ticked days that have begun. A tick for a day that has not begun, or outside
    the classroom, refuses the whole register with a message naming the date. The first
    register turns a confirmed enrolment whose people came "in progress".

    Returns the number of ticks stored."""
    if not can_record_attendance(scope_of(actor), cohort.trainer_id, cohort.provider_id):
        raise TrainingError(_("Only the cohort's trainer records the classroom attendance."))
    today = today or timezone.localdate()
    cohort = Cohort.objects.select_for_update().get(pk=cohort.pk)
    days = classroom_days(cohort)
    ticks = set(ticks)
    for _participant_id, day in sorted(ticks, key=lambda t: t[1]):
        refusal = classroom_day_refusal(cohort, day, today=today)
        if refusal:
            raise TrainingError(refusal)
    if days[0] > today:
        raise TrainingError(
            _("The classroom begins on %(date)s: attendance is recorded from that day on.")
            % {"date": date_format(days[0], "DATE_FORMAT")}
        )
    participants = list(
        Participant.objects.filter(
            enrolment__cohort=cohort, enrolment__status__in=RUNNING
        ).select_related("enrolment")
    )
    known = {p.pk for p in participants}
    closed = set(
        Participant.objects.filter(enrolment__cohort=cohort)
        .exclude(pk__in=known)
        .values_list("pk", flat=True)
    )
    strangers = {pk for pk, _day in ticks if pk not in known and pk not in closed}
    if strangers:
        raise TrainingError(_("Some ticks are for people who are not in this cohort."))
    if not participants:
        raise TrainingError(_("No enterprise in this cohort has named its participants yet."))
    # Completed enrolments' ticks stay as they are: only running ones change. Only what
    # changed is written, so each tick keeps who recorded it and when (and its history).
    wanted = {(pk, day) for pk, day in ticks if pk in known}
    stored = {
        (a.participant_id, a.day): a.pk for a in Attendance.objects.filter(participant_id__in=known)
    }
    for key in sorted(set(stored) - wanted):
        # One by one, so each removal is written in the history.
        Attendance.objects.get(pk=stored[key]).delete()
    for pk, day in sorted(wanted - set(stored), key=lambda t: (t[1], t[0])):
        Attendance.objects.create(participant_id=pk, day=day, recorded_by=actor)
    present = {pk for pk, _day in wanted}
    for participant in participants:
        came = participant.pk in present
        if participant.attended_classroom != came:
            # One by one (a cohort is some twenty people), so the change is in the history.
            participant.attended_classroom = came
            participant.save(update_fields=["attended_classroom"])
    started = {p.enrolment_id: p.enrolment for p in participants if p.pk in present}
    for enrolment in started.values():
        _start(enrolment, actor)
    return len(wanted)


def attendance_violations() -> list[tuple[Any, str, str]]:
    """Existing attendance that breaks the rules, as (object, rule, message) rows, changing
    nothing (for ``check_training_records``):

    - ``attendance_outside_classroom``: a day that is not one of the cohort's classroom days;
    - ``attendance_day_not_begun``: a day that has not begun yet;
    - ``attendance_recorded_early``: recorded before that day began;
    - ``attendance_without_cohort``: the participant's enrolment has no cohort;
    - ``attendance_summary_mismatch``: ``Participant.attended_classroom`` disagrees with
      the ticks (True without a tick, or a tick while False or None).
    """
    today = timezone.localdate()
    rows: list[tuple[Any, str, str]] = []
    ticks = Attendance.objects.select_related(
        "participant__enrolment__cohort", "participant__enrolment__factory"
    ).order_by("participant__enrolment_id", "participant_id", "day")
    for tick in ticks.iterator(chunk_size=2000):
        enrolment = tick.participant.enrolment
        cohort = enrolment.cohort
        day = date_format(tick.day, "DATE_FORMAT")
        who = f"{tick.participant.name} ({enrolment.factory.name})"
        if cohort is None:
            rows.append(
                (
                    tick,
                    "attendance_without_cohort",
                    _("%(who)s is marked present on %(date)s, but the enrolment has no cohort.")
                    % {"who": who, "date": day},
                )
            )
            continue
        if not cohort.classroom_start <= tick.day <= cohort.classroom_end:
            rows.append(
                (
                    tick,
                    "attendance_outside_classroom",
                    _(
                        "%(who)s is marked present on %(date)s, outside the classroom "
                        "(%(start)s – %(end)s)."
                    )
                    % {
                        "who": who,
                        "date": day,
                        "start": date_format(cohort.classroom_start, "DATE_FORMAT"),
                        "end": date_format(cohort.classroom_end, "DATE_FORMAT"),
                    },
                )
            )
        if tick.day > today:
            rows.append(
                (
                    tick,
                    "attendance_day_not_begun",
                    _("%(who)s is marked present on %(date)s, a day that has not begun.")
                    % {"who": who, "date": day},
                )
            )
        elif timezone.localdate(tick.recorded_at) < tick.day:
            rows.append(
                (
                    tick,
                    "attendance_recorded_early",
                    _("%(who)s was marked present on %(date)s before that day, on %(recorded)s.")
                    % {
                        "who": who,
                        "date": day,
                        "recorded": date_format(
                            timezone.localdate(tick.recorded_at), "DATE_FORMAT"
                        ),
                    },
                )
            )
    with_ticks = Attendance.objects.values("participant_id")
    mismatches = (
        (
            Participant.objects.filter(attended_classroom=True).exclude(pk__in=with_ticks),
            _("%(who)s is marked as having attended the classroom, without a day ticked."),
        ),
        (
            Participant.objects.filter(pk__in=with_ticks).exclude(attended_classroom=True),
            _("%(who)s has days ticked, but is not marked as having attended the classroom."),
        ),
    )
    for participants, text in mismatches:
        for participant in participants.select_related("enrolment__factory"):
            who = f"{participant.name} ({participant.enrolment.factory.name})"
            rows.append((participant, "attendance_summary_mismatch", text % {"who": who}))
    return rows
