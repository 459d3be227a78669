"""Training's part of merging two records of one factory (``suppliers.merging``): its
enrolments move to the survivor, and with them their participants, visits, KPI readings,
improvement plans and certificates; open invitations move too.

Two active enrolments of one module (one per record) cannot both stay: the database keeps
one per factory and module. The one further along is kept (completed, then in progress,
then confirmed, then pending; the older one when both are equal) and the other, which has
not begun, is withdrawn with the reason written in its history, releasing its partnership's
place. When both have begun (in progress or completed) the merge is refused, naming them: an
ILO admin decides which one was the real one and withdraws the other first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from suppliers.merging import MergeStep
from training.models import (
    Certificate,
    ConsultingVisit,
    Enrolment,
    FactoryInvitation,
    ImprovementAction,
    KPIReading,
    Participant,
)
from training.services.enrolment import withdraw_enrolment

if TYPE_CHECKING:
    from score_portal.models import User
    from suppliers.models import Factory

E = Enrolment.Status
_RANK = {E.COMPLETED: 4, E.IN_PROGRESS: 3, E.CONFIRMED: 2, E.PENDING: 1}
_BEGUN = (E.IN_PROGRESS, E.COMPLETED)


def _label(model: type) -> str:
    return str(model._meta.verbose_name_plural)


def merge_training_rows(
    *, merged: Factory, survivor: Factory, apply: bool, actor: User | None
) -> MergeStep:
    step = MergeStep(
        models=(
            Enrolment,
            FactoryInvitation,
        )
    )
    active = Enrolment.objects.filter(status__in=Enrolment.ACTIVE_STATUSES).select_related(
        "module", "partnership__partner"
    )
    theirs = {e.module_id: e for e in active.filter(factory=survivor)}
    withdrawn: list[Enrolment] = []
    for enrolment in active.filter(factory=merged).order_by("pk"):
        other = theirs.get(enrolment.module_id)
        if other is None:
            continue
        if enrolment.status in _BEGUN and other.status in _BEGUN:
            step.blockers.append(
                _(
                    "Both records have begun %(module)s (enrolments %(a)s and %(b)s): "
                    "withdraw the one that is wrong before merging."
                )
                % {"module": enrolment.module, "a": other.pk, "b": enrolment.pk}
            )
            continue
        ranked = sorted((other, enrolment), key=lambda e: (-_RANK[E(e.status)], e.created_at, e.pk))
        keep, drop = ranked
        step.notes.append(
            _(
                "Both records were enrolled in %(module)s: enrolment %(keep)s (%(keep_status)s, "
                "funded by %(keep_partner)s) is kept; enrolment %(drop)s (%(drop_status)s, "
                "funded by %(drop_partner)s) is withdrawn and its place released."
            )
            % {
                "module": enrolment.module,
                "keep": keep.pk,
                "keep_status": keep.get_status_display().lower(),
                "keep_partner": keep.partnership.partner,
                "drop": drop.pk,
                "drop_status": drop.get_status_display().lower(),
                "drop_partner": drop.partnership.partner,
            }
        )
        withdrawn.append(drop)
    moving = Enrolment.objects.filter(factory=merged)
    step.lines += [
        (_label(Enrolment), moving.count()),
        (_label(Participant), Participant.objects.filter(enrolment__factory=merged).count()),
        (
            _label(ConsultingVisit),
            ConsultingVisit.objects.filter(enrolment__factory=merged).count(),
        ),
        (_label(KPIReading), KPIReading.objects.filter(enrolment__factory=merged).count()),
        (
            _label(ImprovementAction),
            ImprovementAction.objects.filter(enrolment__factory=merged).count(),
        ),
        (_label(Certificate), Certificate.objects.filter(enrolment__factory=merged).count()),
    ]
    open_emails = set(
        FactoryInvitation.objects.filter(factory=survivor, accepted_at__isnull=True).values_list(
            "email", flat=True
        )
    )
    invitations = FactoryInvitation.objects.filter(factory=merged)
    duplicate_invitations = invitations.filter(accepted_at__isnull=True, email__in=open_emails)
    step.lines.append(
        (_label(FactoryInvitation), invitations.count() - duplicate_invitations.count())
    )
    if not apply or step.blockers:
        return step
    assert actor is not None
    for drop in withdrawn:
        withdraw_enrolment(
            enrolment=drop,
            actor=actor,
            reason=_("Duplicate: factory records %(merged)s and %(survivor)s were merged.")
            % {"merged": merged.pk, "survivor": survivor.pk},
        )
    moving.update(factory=survivor)
    duplicate_invitations.delete()
    invitations.update(factory=survivor)
    return step
