"""The rules a KPI reading obeys, in one place.

The services check a reading against them before writing it (``training/services/kpis.py``),
and ``kpi_violations()`` lists the stored readings that break them (for the
``check_training_records`` command), changing nothing.

- **Value**: within its KPI's range (``KPIDefinition.lowest``/``highest``: a percentage
  0–100, every other kind 0 or more, narrowed by the definition's optional minimum and
  maximum); a count is a whole number.
- **Date**: never in the future. A baseline is measured before or on the classroom's first
  day (when the enrolment has a cohort), and not more than a year before the enrolment was
  made (figures the factory already kept count as its baseline). A follow-up is measured
  after its KPI's baseline, after the classroom's last day (when there is a cohort: it
  measures the training's effect), not before the enrolment was made, and not after the day
  the enrolment was completed.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from training.models import Enrolment, KPIDefinition, KPIReading

# A baseline may use figures the factory kept up to a year before it enrolled.
BASELINE_LOOKBACK_DAYS = 365


class Problem(NamedTuple):
    """What is wrong with a reading: the form field it belongs beside, a rule code, the
    message for the person."""

    field: str
    rule: str
    message: str


class Violation(NamedTuple):
    """A stored reading that breaks a rule: (object, rule, message)."""

    object: KPIReading
    rule: str
    message: str


def number(value: Decimal | None) -> str:
    """A value as a person writes it: 100, 7.5 (not 100.000 or 1E+2)."""
    if value is None:
        return ""
    text = f"{value.normalize():f}"
    return text


def allowed_range(kpi: KPIDefinition) -> str:
    """The values a reading of ``kpi`` may take, in words, with its unit."""
    low, high, unit = number(kpi.lowest), number(kpi.highest), kpi.display_unit
    if kpi.highest is None:
        text = _("%(low)s or more %(unit)s") % {"low": low, "unit": unit}
    else:
        text = _("%(low)s to %(high)s %(unit)s") % {"low": low, "high": high, "unit": unit}
    if kpi.whole_numbers:
        text = _("%(range)s, whole numbers") % {"range": text}
    return text


def value_problems(kpi: KPIDefinition, value: Decimal) -> list[Problem]:
    problems = []
    highest = kpi.highest
    if value < kpi.lowest or (highest is not None and value > highest):
        problems.append(
            Problem(
                "value",
                "kpi-value-out-of-range",
                _("%(kpi)s takes values from %(range)s: %(value)s is outside that range.")
                % {"kpi": kpi.display_name, "range": allowed_range(kpi), "value": number(value)},
            )
        )
    if kpi.whole_numbers and value != value.to_integral_value():
        problems.append(
            Problem(
                "value",
                "kpi-value-not-whole",
                _("%(kpi)s is counted in whole numbers: %(value)s is not one.")
                % {"kpi": kpi.display_name, "value": number(value)},
            )
        )
    return problems


def date_problems(
    *,
    enrolment: Enrolment,
    kpi: KPIDefinition,
    kind: str,
    measured_on: datetime.date,
    baseline_on: datetime.date | None,
    follow_ups_on: Iterable[datetime.date],
    today: datetime.date | None = None,
) -> list[Problem]:
    """What is wrong with the date of a reading, given the dates of the enrolment's other
    readings of the same KPI (``baseline_on``: its baseline's, None without one)."""
    today = today or timezone.localdate()
    problems = []
    day = format_day(measured_on)
    if measured_on > today:
        problems.append(
            Problem(
                "measured_on",
                "kpi-future",
                _("A reading is recorded once it is measured: %(date)s is in the future.")
                % {"date": day},
            )
        )
    enrolled_on = timezone.localdate(enrolment.created_at)
    cohort = enrolment.cohort
    if kind == KPIReading.Kind.BASELINE:
        if cohort is not None and measured_on > cohort.classroom_start:
            problems.append(
                Problem(
                    "measured_on",
                    "kpi-baseline-after-classroom",
                    _(
                        "The baseline is measured before the classroom: %(date)s is after its "
                        "first day, %(start)s."
                    )
                    % {"date": day, "start": format_day(cohort.classroom_start)},
                )
            )
        earliest = enrolled_on - datetime.timedelta(days=BASELINE_LOOKBACK_DAYS)
        if measured_on < earliest:
            problems.append(
                Problem(
                    "measured_on",
                    "kpi-baseline-too-early",
                    _(
                        "A baseline is at most a year older than the enrolment (made on "
                        "%(enrolled)s): %(date)s is before %(earliest)s."
                    )
                    % {
                        "enrolled": format_day(enrolled_on),
                        "date": day,
                        "earliest": format_day(earliest),
                    },
                )
            )
        first_follow_up = min(follow_ups_on, default=None)
        if first_follow_up is not None and measured_on >= first_follow_up:
            problems.append(
                Problem(
                    "measured_on",
                    "kpi-baseline-after-follow-up",
                    _(
                        "The baseline comes before the follow-ups: the first follow-up of "
                        "%(kpi)s was measured on %(first)s."
                    )
                    % {"kpi": kpi.display_name, "first": format_day(first_follow_up)},
                )
            )
        return problems
    if baseline_on is None:
        problems.append(
            Problem(
                "kind",
                "kpi-follow-up-without-baseline",
                _("Record the baseline of %(kpi)s first.") % {"kpi": kpi.display_name},
            )
        )
    elif measured_on <= baseline_on:
        problems.append(
            Problem(
                "measured_on",
                "kpi-follow-up-before-baseline",
                _(
                    "A follow-up is measured after the baseline of %(kpi)s (%(baseline)s): "
                    "%(date)s is not."
                )
                % {"kpi": kpi.display_name, "baseline": format_day(baseline_on), "date": day},
            )
        )
    if measured_on < enrolled_on:
        problems.append(
            Problem(
                "measured_on",
                "kpi-follow-up-before-enrolment",
                _(
                    "A follow-up is measured during the cycle: %(date)s is before the "
                    "enrolment (%(enrolled)s)."
                )
                % {"date": day, "enrolled": format_day(enrolled_on)},
            )
        )
    if cohort is not None and measured_on <= cohort.classroom_end:
        problems.append(
            Problem(
                "measured_on",
                "kpi-follow-up-before-classroom-end",
                _(
                    "A follow-up is measured after the classroom, which ends on %(end)s: "
                    "%(date)s is not after it."
                )
                % {"end": format_day(cohort.classroom_end), "date": day},
            )
        )
    if enrolment.completed_at is not None:
        completed_on = timezone.localdate(enrolment.completed_at)
        if measured_on > completed_on:
            problems.append(
                Problem(
                    "measured_on",
                    "kpi-follow-up-after-completion",
                    _(
                        "The module was completed on %(completed)s: a follow-up is not dated "
                        "after it (%(date)s)."
                    )
                    % {"completed": format_day(completed_on), "date": day},
                )
            )
    return problems


def kpi_violations() -> list[Violation]:
    """Every stored KPI reading that breaks a rule above, as (object, rule, message) rows,
    in enrolment and date order. Reads only; changes nothing."""
    readings = KPIReading.objects.select_related(
        "kpi", "enrolment__cohort", "enrolment__factory", "enrolment__module"
    ).order_by("enrolment_id", "kpi_id", "measured_on", "pk")
    series: dict[tuple[int, int], list[KPIReading]] = defaultdict(list)
    for reading in readings.iterator(chunk_size=2000):
        series[(reading.enrolment_id, reading.kpi_id)].append(reading)
    violations: list[Violation] = []
    today = timezone.localdate()
    for rows in series.values():
        baselines = [r for r in rows if r.kind == KPIReading.Kind.BASELINE]
        follow_ups = [r.measured_on for r in rows if r.kind == KPIReading.Kind.FOLLOW_UP]
        baseline_on = baselines[0].measured_on if baselines else None
        for reading in rows:
            problems = value_problems(reading.kpi, reading.value) + date_problems(
                enrolment=reading.enrolment,
                kpi=reading.kpi,
                kind=reading.kind,
                measured_on=reading.measured_on,
                baseline_on=baseline_on,
                follow_ups_on=follow_ups if reading.kind == KPIReading.Kind.BASELINE else (),
                today=today,
            )
            violations.extend(Violation(reading, p.rule, p.message) for p in problems)
    return violations


def format_day(day: datetime.date) -> str:
    return date_format(day, "DATE_FORMAT")
