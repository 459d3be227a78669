"""Placing enrolments that wait for a cohort ("the provider places the factory later").

The providers that deliver the module in the factory's country see them
(``score_portal.access.placeable_reach``) and place one or many into one of their cohorts.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from score_portal import access
from score_portal.models import User
from score_portal.scope import scope_of
from training.models import Cohort, Enrolment
from training.rules import placement_mismatch, places_taken
from training.services.enrolment import TrainingError, _email, _factory_managers


@transaction.atomic
def place_enrolments(
    *, enrolments: Sequence[Enrolment], cohort: Cohort, actor: User, reason: str = ""
) -> list[Enrolment]:
    """Place waiting enrolments into ``cohort``, all or none; their factories' managers are
    emailed (through the outbox, after commit).

    The cohort row is locked first, then the enrolments, so two people placing into the
    same cohort, or the same enrolment, one after the other see each other's work: the
    capacity holds whatever the concurrency. A factory outside the cohort's country or
    languages needs ``reason``, stored on its enrolment.
    """
    scope = scope_of(actor)
    if not access.can_place(scope, cohort.provider_id):
        raise TrainingError(_("Only the provider's administrators and staff place enterprises."))
    if not enrolments:
        raise TrainingError(_("Choose at least one enrolment to place."), field="enrolments")
    locked_cohort = Cohort.objects.select_for_update().select_related("module").get(pk=cohort.pk)
    today = timezone.localdate()
    if locked_cohort.classroom_start < today:
        raise TrainingError(
            _("The cohort's classroom began on %(date)s: choose one that has not started.")
            % {"date": date_format(locked_cohort.classroom_start, "DATE_FORMAT")},
            field="cohort",
        )
    ids = sorted({e.pk for e in enrolments})
    # Locked without joins (PostgreSQL refuses FOR UPDATE on the nullable side of a join).
    locked = list(Enrolment.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    placeable = Enrolment.objects.filter(pk__in=ids)
    if not scope.is_ilo_decider:
        placeable = placeable.filter(
            access.placeable_reach(Enrolment, frozenset({locked_cohort.provider_id}))
        )
    allowed = set(placeable.values_list("pk", flat=True))
    rows = {
        e.pk: e for e in Enrolment.objects.filter(pk__in=ids).select_related("factory", "module")
    }
    reason = reason.strip()
    mismatches = []
    for enrolment in locked:
        row = rows[enrolment.pk]
        if not enrolment.waiting_for_cohort:
            raise TrainingError(
                _("%(factory)s is not waiting for a cohort any more.")
                % {"factory": row.factory.name},
                field="enrolments",
            )
        if enrolment.module_id != locked_cohort.module_id:
            raise TrainingError(
                _("%(factory)s is enrolled in %(module)s; the cohort teaches %(cohort_module)s.")
                % {
                    "factory": row.factory.name,
                    "module": row.module,
                    "cohort_module": locked_cohort.module,
                },
                field="cohort",
            )
        if enrolment.pk not in allowed:
            raise TrainingError(
                _("%(provider)s does not deliver %(module)s in %(factory)s's country.")
                % {
                    "provider": locked_cohort.provider,
                    "module": row.module,
                    "factory": row.factory.name,
                },
                field="cohort",
            )
        mismatch = placement_mismatch(row.factory, locked_cohort)
        if mismatch:
            mismatches.append((enrolment, mismatch))
    if len(locked) != len(ids):
        raise TrainingError(_("An enrolment was not found."), field="enrolments")
    left = locked_cohort.capacity - places_taken(locked_cohort)
    if len(locked) > left:
        raise TrainingError(
            ngettext(
                "The cohort has %(left)s place left; you chose %(chosen)s enterprises.",
                "The cohort has %(left)s places left; you chose %(chosen)s enterprises.",
                max(left, 0),
            )
            % {"left": max(left, 0), "chosen": len(locked)},
            field="enrolments",
        )
    if mismatches and not reason:
        raise TrainingError(
            " ".join(m for _e, m in mismatches)
            + " "
            + _("Give a reason to place them there, or choose another cohort."),
            field="reason",
        )
    now = timezone.now()
    mismatched = {e.pk for e, _m in mismatches}
    for enrolment in locked:
        enrolment.cohort = locked_cohort
        enrolment.placed_at = now
        enrolment.placed_by = actor
        enrolment.placement_reason = reason if enrolment.pk in mismatched else ""
        enrolment.save(update_fields=["cohort", "placed_at", "placed_by", "placement_reason"])
        enrolment.factory = rows[enrolment.pk].factory
        for manager in _factory_managers(enrolment.factory):
            _email(manager, "enrolment_placed", enrolment)
    return locked
