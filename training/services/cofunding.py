"""Co-funding: a second brand pays a share of an enrolment another brand leads (README,
"Co-funding").

- *The lead funder* is the enrolment's ``partnership`` (the brand that enrolled the factory);
  it keeps every power it had (withdrawing the enrolment, ...). Its share is
  ``Enrolment.lead_share``: 1 until a co-funding is agreed.
- *A co-funder* proposes a share (``propose_cofunding``: 1–99 %, 50 % by default) from one
  of its partnerships when it tries to enrol a factory on its list that another brand
  already funds in that module. The lead funder's acting people agree or decline
  (``agree_cofunding``, ``decline_cofunding``): no counter-offer, a new proposal instead.
- *On agreement*, under a lock on the enrolment and on the co-funder's partnership, the
  co-funder's partnership must be able to fund the factory as ``enrol_factory`` asks
  (approved, running today, covering the module and country) and its places must hold
  the share: the share is written, the lead's share reduced by as much, the places are
  counted again, and a count over the quota undoes it all. The budget follows the places
  (budget ÷ quota per place), so the places check is the budget check. The shares of an
  enrolment (lead + co-funders in force) sum to exactly 1: this module is the only writer
  of both, under the enrolment's lock; the database keeps each share a fraction (0 < s ≤ 1
  for the lead, 0 < s < 1 for a co-funder) and one open proposal or share per
  partnership and enrolment.
- *Ending*: the co-funder (or an ILO admin) withdraws its proposal or ends its share
  (``end_cofunding``, with a reason). An ended share goes back to the lead funder, whose
  place fraction grows by as much, even over its quota: the enrolment was wholly its own
  before, and refusing would leave part of a running training unpaid. Withdrawing or a
  factory declining the enrolment releases every funder's place (``holds_place``); the
  shares stay as they were, a record of who paid what.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.models import Membership, Partner, Partnership
from partners.selectors import places_of
from score_portal.access import (
    COFUNDABLE_STATUSES,
    can_decide_cofunding,
    can_end_cofunding,
    can_propose_cofunding,
    cofundable_reach,
)
from score_portal.emails import queue_email
from score_portal.history import records_actor
from score_portal.models import User
from score_portal.scope import scope_of
from score_portal.transitions import Transitions
from training.models import CoFunding, Enrolment
from training.services.enrolment import TrainingError, funding_refusal

C = CoFunding.Status
DEFAULT_SHARE = Decimal("0.50")
LEAD, COFUNDER = "lead", "cofunder"
TRANSITIONS = Transitions(
    {
        (C.PROPOSED, C.AGREED): LEAD,
        (C.PROPOSED, C.DECLINED): LEAD,
        (C.PROPOSED, C.ENDED): COFUNDER,
        (C.AGREED, C.ENDED): COFUNDER,
    }
)


def allowed_moves(cofunding: CoFunding, user: User) -> list[str]:
    """The statuses ``user`` may move ``cofunding`` to now (its page's buttons)."""
    scope = scope_of(user)

    def may(who: str) -> bool:
        if who == LEAD:
            return can_decide_cofunding(scope, cofunding.enrolment.partnership.partner_id)
        return can_end_cofunding(scope, cofunding.partnership.partner_id)

    return TRANSITIONS.allowed_moves(cofunding.status, may)


def share_from_percent(percent: Any) -> Decimal:
    """A whole percentage (1–99) as a share; anything else is refused with a reason."""
    try:
        value = Decimal(str(percent).strip())
    except (InvalidOperation, ValueError):
        value = Decimal(-1)
    if not value.is_finite() or value != value.to_integral_value() or not 1 <= value <= 99:
        raise TrainingError(_("Give a whole percentage from 1 to 99."), field="percent")
    return (value / 100).quantize(Decimal("0.01"))


def open_cofunding(*, enrolment: Enrolment, brand: Partner) -> CoFunding | None:
    """``brand``'s open proposal or share in force on ``enrolment``, if any."""
    return (
        CoFunding.objects.filter(
            enrolment=enrolment, partnership__partner=brand, status__in=CoFunding.OPEN_STATUSES
        )
        .order_by("-pk")
        .first()
    )


@records_actor()
def propose_cofunding(
    *,
    enrolment: Enrolment,
    partnership: Partnership,
    share: Decimal,
    actor: User,
    note: str = "",
) -> CoFunding:
    """``partnership``'s partner offers to pay ``share`` of ``enrolment``, which another
    partner leads; the lead funder's acting people are told (email and notice)."""
    scope = scope_of(actor)
    brand_id = partnership.partner_id
    if not can_propose_cofunding(scope, brand_id):
        raise TrainingError(_("Only the brand's administrators and staff may offer to co-fund."))
    reachable = Enrolment.objects.filter(cofundable_reach(scope, brand_id, Enrolment))
    if not reachable.filter(pk=enrolment.pk).exists():
        raise TrainingError(
            _(
                "This enrolment cannot be co-funded: it is not another brand's enrolment of a "
                "supplier on your list that is still to be delivered."
            )
        )
    if not Decimal("0") < share < Decimal("1"):
        raise TrainingError(_("Give a whole percentage from 1 to 99."), field="percent")
    lead_share = Enrolment.objects.filter(pk=enrolment.pk).values_list("lead_share", flat=True)
    if share >= lead_share.get():
        raise TrainingError(
            _("The lead funder holds %(lead)s%% of this enrolment: offer less than that.")
            % {"lead": _percent(lead_share.get())},
            field="percent",
        )
    refusal = funding_refusal(
        partnership=partnership,
        factory=enrolment.factory,
        module=enrolment.module,
        on=timezone.localdate(),
        count_places=False,
    )
    if refusal:
        raise TrainingError(refusal, field="partnership")
    try:
        with transaction.atomic():
            cofunding = CoFunding.objects.create(
                enrolment=enrolment,
                partnership=partnership,
                share=share,
                note=note.strip(),
                proposed_by=actor,
            )
            for person in _people_of(enrolment.partnership.partner):
                _email(person, "cofunding_proposed", cofunding)
    except IntegrityError:
        raise TrainingError(
            _("%(partner)s already has a proposal or a share on this enrolment.")
            % {"partner": partnership.partner}
        ) from None
    return cofunding


@records_actor()
def agree_cofunding(*, cofunding: CoFunding, actor: User) -> CoFunding:
    """The lead funder agrees: the co-funder's share comes into force and the lead's share
    is reduced by as much, if the co-funder's partnership can fund it (module docstring);
    the co-funder's people are told."""
    with transaction.atomic():
        enrolment, locked = _lock(cofunding, actor, C.AGREED)
        if enrolment.status not in COFUNDABLE_STATUSES:
            raise TrainingError(
                _("The enrolment’s status is “%(status)s”: it can no longer be co-funded.")
                % {"status": enrolment.get_status_display()}
            )
        if locked.share >= enrolment.lead_share:
            raise TrainingError(
                _("The lead funder holds %(lead)s%% of this enrolment: offer less than that.")
                % {"lead": _percent(enrolment.lead_share)}
            )
        partnership = Partnership.objects.select_for_update().get(pk=locked.partnership_id)
        refusal = funding_refusal(
            partnership=partnership,
            factory=enrolment.factory,
            module=enrolment.module,
            on=timezone.localdate(),
            count_places=False,
        )
        if refusal:
            raise TrainingError(refusal)
        before = places_of(partnership)
        locked.status = C.AGREED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
        enrolment.lead_share -= locked.share
        enrolment.save(update_fields=["lead_share"])
        after = places_of(partnership)
        if after > before and after > partnership.factory_quota:
            raise TrainingError(
                _("The partnership's quota of %(quota)s factories is used up.")
                % {"quota": partnership.factory_quota}
            )
        for person in _people_of(partnership.partner):
            _email(person, "cofunding_answered", locked)
    return locked


@records_actor()
def decline_cofunding(*, cofunding: CoFunding, actor: User, reason: str = "") -> CoFunding:
    """The lead funder declines the proposal; the proposer's people are told."""
    with transaction.atomic():
        _enrolment, locked = _lock(cofunding, actor, C.DECLINED)
        locked.status = C.DECLINED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.end_reason = reason.strip()
        locked.save(update_fields=["status", "decided_by", "decided_at", "end_reason"])
        for person in _people_of(locked.partnership.partner):
            _email(person, "cofunding_answered", locked)
    return locked


@records_actor()
def end_cofunding(*, cofunding: CoFunding, actor: User, reason: str) -> CoFunding:
    """The co-funder withdraws its proposal, or ends its share in force: the share goes
    back to the lead funder (module docstring). The lead funder's people are told."""
    if not reason.strip():
        raise TrainingError(_("Please give the reason."), field="reason")
    with transaction.atomic():
        enrolment, locked = _lock(cofunding, actor, C.ENDED)
        if locked.status == C.AGREED:
            enrolment.lead_share += locked.share
            enrolment.save(update_fields=["lead_share"])
        locked.status = C.ENDED
        locked.ended_by = actor
        locked.ended_at = timezone.now()
        locked.end_reason = reason.strip()
        locked.save(update_fields=["status", "ended_by", "ended_at", "end_reason"])
        for person in _people_of(enrolment.partnership.partner):
            _email(person, "cofunding_ended", locked)
    return locked


def shares_of(enrolment: Enrolment) -> list[tuple[Partnership, Decimal]]:
    """Who pays what of ``enrolment``: the lead funder first, then the co-funders in force."""
    rows = [(enrolment.partnership, enrolment.lead_share)]
    rows += [
        (c.partnership, c.share)
        for c in enrolment.cofundings.filter(in_force=True).select_related("partnership__partner")
    ]
    return rows


# --- Internals ----------------------------------------------------------------------------


def _lock(cofunding: CoFunding, actor: User, to_status: str) -> tuple[Enrolment, CoFunding]:
    """Lock the enrolment, then the co-funding (always in this order), and check the move
    and the party."""
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("partnership", "factory", "module")
        .get(pk=cofunding.enrolment_id)
    )
    locked = (
        CoFunding.objects.select_for_update(of=("self",))
        .select_related("partnership__partner")
        .get(pk=cofunding.pk)
    )
    locked.enrolment = enrolment
    who = TRANSITIONS.who(locked.status, to_status)
    if who is None:
        raise TrainingError(
            _("A co-funding in the status “%(status)s” cannot move to “%(to)s”.")
            % {"status": locked.get_status_display(), "to": C(to_status).label}
        )
    scope = scope_of(actor)
    allowed = (
        can_decide_cofunding(scope, enrolment.partnership.partner_id)
        if who == LEAD
        else can_end_cofunding(scope, locked.partnership.partner_id)
    )
    if not allowed:
        raise TrainingError(
            _("Only the lead funder's administrators and staff agree or decline.")
            if who == LEAD
            else _("Only the co-funder's administrators and staff (or the ILO) may end this.")
        )
    return enrolment, locked


def _percent(share: Decimal) -> int:
    return int(share * 100)


def _people_of(partner: Partner) -> list[User]:
    return list(
        User.objects.filter(
            memberships__partner=partner,
            memberships__role__in=Membership.ACTING_ROLES,
            is_active=True,
        ).order_by("pk")
    )


def _email(person: User, template: str, cofunding: CoFunding) -> None:
    queue_email(
        to=person.email,
        template=template,
        context={
            "cofunding": cofunding,
            "enrolment": cofunding.enrolment,
            "percent": cofunding.percent,
            "recipient": person,
        },
        language=person.language or settings.LANGUAGE_CODE,
        link=cofunding.get_absolute_url(),
    )
