"""The cycle runs in time order: the rules about its dates, in one place.

Each rule is a plain function that answers why a date is refused (a sentence naming the
dates, in the active language) or None. The services call them before they write; the
record checks (``training/record_checks.py``, ``manage.py check_training_records``) call the
same functions on the rows already stored, so a rule changes in one place.

- The intake / baseline visit is on or before the classroom's first day.
- Follow-up (and year-after) visits come after the classroom's last day, and follow-ups are
  numbered in date order: a follow-up dated before one already recorded is refused (record
  visits in the order they happened; the numbers are that order, never renumbered behind
  the trainer's back).
- Completion: from the classroom's last day on, once the module's follow-up visits are logged.
- Nothing is dated in the future (visits, completion).
- A certificate is issued on or after the completion, itself on or after the classroom's end.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from training.models import Cohort, ConsultingVisit

VisitKind = ConsultingVisit.Kind


def day(value: datetime.date) -> str:
    """A date as the active language writes it (``DATE_FORMAT``)."""
    return formats.date_format(value, "DATE_FORMAT")


def future_refusal(on: datetime.date, today: datetime.date) -> str | None:
    if on > today:
        return _("%(date)s is in the future (today is %(today)s).") % {
            "date": day(on),
            "today": day(today),
        }
    return None


def visit_refusal(
    *,
    kind: str,
    visited_on: datetime.date,
    cohort: Cohort | None,
    earlier_follow_ups: Iterable[ConsultingVisit] = (),
    today: datetime.date,
) -> str | None:
    """Why a visit of ``kind`` cannot be dated ``visited_on``, or None.

    ``earlier_follow_ups``: the enrolment's follow-up visits recorded before this one.
    """
    future = future_refusal(visited_on, today)
    if future:
        return _("A visit is recorded once it has happened: %(reason)s") % {"reason": future}
    if cohort is None:
        return _("The enrolment has no cohort yet: its visits follow the classroom's dates.")
    if kind == VisitKind.BASELINE and visited_on > cohort.classroom_start:
        return _(
            "The intake / baseline visit comes before the classroom: %(date)s is after the "
            "classroom's first day, %(start)s."
        ) % {"date": day(visited_on), "start": day(cohort.classroom_start)}
    if kind in (VisitKind.FOLLOW_UP, VisitKind.YEAR_AFTER) and visited_on <= cohort.classroom_end:
        return _(
            "Follow-up visits come after the classroom: %(date)s is not after the classroom's "
            "last day, %(end)s."
        ) % {"date": day(visited_on), "end": day(cohort.classroom_end)}
    if kind == VisitKind.FOLLOW_UP:
        later = [v for v in earlier_follow_ups if v.visited_on > visited_on]
        if later:
            last = max(later, key=lambda v: v.visited_on)
            return _(
                "Follow-up visits are numbered in date order: visit %(number)s is dated "
                "%(recorded)s, so the next one cannot be dated %(date)s, before it."
            ) % {"number": last.number, "recorded": day(last.visited_on), "date": day(visited_on)}
    return None


def completion_date_refusal(*, cohort: Cohort | None, on: datetime.date) -> str | None:
    """Why a cycle cannot be completed on ``on``: from the classroom's last day on (the
    trainer completes after the last session), never in the future."""
    if cohort is None:
        return _("The enrolment has no cohort: there was no classroom to complete.")
    if on < cohort.classroom_end:
        return _(
            "The classroom ends on %(end)s: the module can be completed from that day on, "
            "not on %(date)s."
        ) % {"end": day(cohort.classroom_end), "date": day(on)}
    return None


def follow_ups_refusal(*, logged: int, required: int) -> str | None:
    """Why a cycle with ``logged`` follow-up visits cannot be complete, or None."""
    if logged >= required:
        return None
    return ngettext(
        "The module asks for %(required)s follow-up visit; %(logged)s logged.",
        "The module asks for %(required)s follow-up visits; %(logged)s logged.",
        required,
    ) % {"required": required, "logged": logged}


def certificate_refusal(
    *,
    completed_on: datetime.date | None,
    classroom_end: datetime.date | None,
    issued_on: datetime.date,
) -> str | None:
    """Why a certificate cannot be dated ``issued_on``, or None: never before the completion,
    nor before the classroom's last day."""
    if completed_on is None:
        return _("Only a completed enrolment receives a certificate.")
    if classroom_end is not None and issued_on < classroom_end:
        return _(
            "A certificate cannot be issued on %(date)s for a classroom that ends on %(end)s."
        ) % {"date": day(issued_on), "end": day(classroom_end)}
    if issued_on < completed_on:
        return _(
            "A certificate cannot be issued on %(date)s, before the completion on %(completed)s."
        ) % {"date": day(issued_on), "completed": day(completed_on)}
    return None
