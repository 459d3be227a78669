"""Writes about KPI readings: record, correct, delete (with a reason), and the factory's
consent per funding brand.

Every write checks the rules of ``training.kpi_rules`` against the enrolment's other
readings of the same KPI, under a lock on the enrolment (two people correcting at once
cannot together break the order baseline → follow-ups), and leaves a history row
(django-simple-history) with the actor as its user and the reason as its change reason.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from score_portal.access import can_correct_kpi
from score_portal.models import User
from score_portal.scope import scope_of
from training.kpi_rules import Problem, date_problems, format_day, number, value_problems
from training.models import Enrolment, KPIConsent, KPIDefinition, KPIReading
from training.services.enrolment import TrainingError, _require_running

REASON_MAX_LENGTH = 1000


class KPIReadingError(TrainingError):
    """A reading breaks a rule; ``errors`` maps each form field to what is wrong with it
    (``"__all__"`` for the reading as a whole)."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(" ".join(errors.values()))


def may_edit_readings(user: User, enrolment: Enrolment) -> bool:
    """The factory's managers and the cohort's trainer record and correct readings."""
    cohort = enrolment.cohort
    return can_correct_kpi(
        scope_of(user),
        factory_id=enrolment.factory_id,
        trainer_id=cohort.trainer_id if cohort else None,
        provider_id=cohort.provider_id if cohort else None,
    )


@transaction.atomic
def record_kpi_reading(
    *,
    enrolment: Enrolment,
    actor: User,
    kpi: KPIDefinition,
    kind: str,
    value: Decimal,
    measured_on: datetime.date,
) -> KPIReading:
    """The trainer or the factory records a reading: one baseline per KPI, then follow-ups."""
    if not may_edit_readings(actor, enrolment):
        raise TrainingError(_("Only the factory and its trainer record KPI readings."))
    enrolment = _locked(enrolment)
    _require_running(enrolment)
    value = Decimal(str(value))
    if kind not in KPIReading.Kind.values:
        raise KPIReadingError({"kind": _("Unknown kind of reading.")})
    if not enrolment.module.kpis.filter(pk=kpi.pk).exists():
        raise KPIReadingError(
            {"kpi": _("%(kpi)s is not a KPI of this module.") % {"kpi": kpi.display_name}}
        )
    others = list(enrolment.kpi_readings.filter(kpi=kpi))
    baseline = next((r for r in others if r.kind == KPIReading.Kind.BASELINE), None)
    if kind == KPIReading.Kind.BASELINE and baseline is not None:
        raise KPIReadingError(
            {
                "kind": _(
                    "The baseline of %(kpi)s is already recorded (%(value)s on %(date)s): "
                    "correct it instead."
                )
                % {
                    "kpi": kpi.display_name,
                    "value": number(baseline.value),
                    "date": format_day(baseline.measured_on),
                }
            }
        )
    _check(enrolment, kpi, kind, value, measured_on, others)
    reading = KPIReading(
        enrolment=enrolment,
        kpi=kpi,
        kind=kind,
        value=value,
        measured_on=measured_on,
        recorded_by=actor,
    )
    reading._history_user = actor  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            reading.save()
    except IntegrityError:
        raise TrainingError(_("This baseline was just recorded by someone else.")) from None
    return reading


@transaction.atomic
def correct_kpi_reading(
    *,
    reading: KPIReading,
    actor: User,
    value: Decimal,
    measured_on: datetime.date,
    reason: str,
) -> KPIReading:
    """The factory or its trainer corrects a reading's value or date, saying why; the
    history keeps the old values, who and why."""
    enrolment = _locked(reading.enrolment)
    if not may_edit_readings(actor, enrolment):
        raise TrainingError(_("Only the factory and its trainer correct KPI readings."))
    reading = KPIReading.objects.select_related("kpi").get(pk=reading.pk)
    reason = _reason(reason)
    value = Decimal(str(value))
    if value == reading.value and measured_on == reading.measured_on:
        raise KPIReadingError({"value": _("Nothing to correct: the value and date are as stored.")})
    others = list(enrolment.kpi_readings.filter(kpi=reading.kpi).exclude(pk=reading.pk))
    _check(enrolment, reading.kpi, reading.kind, value, measured_on, others)
    reading.value = value
    reading.measured_on = measured_on
    reading._history_user = actor  # type: ignore[attr-defined]
    reading._change_reason = reason  # type: ignore[attr-defined]
    reading.save(update_fields=["value", "measured_on"])
    return reading


@transaction.atomic
def delete_kpi_reading(*, reading: KPIReading, actor: User, reason: str) -> None:
    """The factory or its trainer deletes a reading, saying why (the history keeps it).
    A baseline goes only once its follow-ups are gone: they are measured against it."""
    enrolment = _locked(reading.enrolment)
    if not may_edit_readings(actor, enrolment):
        raise TrainingError(_("Only the factory and its trainer delete KPI readings."))
    reading = KPIReading.objects.select_related("kpi").get(pk=reading.pk)
    reason = _reason(reason)
    if (
        reading.kind == KPIReading.Kind.BASELINE
        and enrolment.kpi_readings.filter(kpi=reading.kpi, kind=KPIReading.Kind.FOLLOW_UP).exists()
    ):
        raise KPIReadingError(
            {
                "__all__": _(
                    "The follow-ups of %(kpi)s are measured against this baseline: delete "
                    "them first, or correct the baseline instead."
                )
                % {"kpi": reading.kpi.display_name}
            }
        )
    reading._history_user = actor  # type: ignore[attr-defined]
    reading._change_reason = reason  # type: ignore[attr-defined]
    reading.delete()


@transaction.atomic
def set_kpi_consent(*, enrolment: Enrolment, actor: User, shared: bool) -> bool:
    """The factory gives (or withdraws) its consent that the brand funding ``enrolment``
    sees its KPI readings: those of every enrolment that brand funds. Returns ``shared``."""
    if enrolment.factory_id not in scope_of(actor).factory_ids:
        raise TrainingError(_("Only the factory's managers answer for the factory."))
    brand_id = enrolment.partnership.partner_id
    if shared:
        KPIConsent.objects.get_or_create(
            factory_id=enrolment.factory_id, partner_id=brand_id, defaults={"given_by": actor}
        )
    else:
        KPIConsent.objects.filter(factory_id=enrolment.factory_id, partner_id=brand_id).delete()
    return shared


def has_kpi_consent(enrolment: Enrolment) -> bool:
    """Has the factory shared its readings with the brand funding ``enrolment``?"""
    return KPIConsent.objects.filter(
        factory_id=enrolment.factory_id, partner_id=enrolment.partnership.partner_id
    ).exists()


# --- Internals ----------------------------------------------------------------------------


def _locked(enrolment: Enrolment) -> Enrolment:
    return (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("cohort", "module")
        .get(pk=enrolment.pk)
    )


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise KPIReadingError({"reason": _("Say why: a correction or deletion needs a reason.")})
    if len(reason) > REASON_MAX_LENGTH:
        raise KPIReadingError(
            {"reason": _("Keep the reason under %(n)s characters.") % {"n": REASON_MAX_LENGTH}}
        )
    return reason


def _check(
    enrolment: Enrolment,
    kpi: KPIDefinition,
    kind: str,
    value: Decimal,
    measured_on: datetime.date,
    others: list[KPIReading],
) -> None:
    """Raise KPIReadingError with every problem of the reading, each beside its field."""
    baseline = next((r for r in others if r.kind == KPIReading.Kind.BASELINE), None)
    problems: list[Problem] = value_problems(kpi, value) + date_problems(
        enrolment=enrolment,
        kpi=kpi,
        kind=kind,
        measured_on=measured_on,
        baseline_on=baseline.measured_on if baseline else None,
        follow_ups_on=[r.measured_on for r in others if r.kind == KPIReading.Kind.FOLLOW_UP]
        if kind == KPIReading.Kind.BASELINE
        else (),
    )
    if problems:
        errors: dict[str, str] = {}
        for problem in problems:
            errors[problem.field] = " ".join(
                filter(None, [errors.get(problem.field), problem.message])
            )
        raise KPIReadingError(errors)
