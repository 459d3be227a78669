"""Writes about partnerships: drafts, the lifecycle, decisions and their emails."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from partners.models import Membership, Partner, Partnership, PartnershipEvent
from score_portal.access import can_act_for_partner, can_decide_partnerships
from score_portal.emails import queue_email
from score_portal.history import records_actor
from score_portal.models import User
from score_portal.scope import scope_of
from score_portal.transitions import Transitions

# --- Partnerships: drafts, the lifecycle, and what an approved one may fund ---------------

S = Partnership.Status

# Every allowed move, and who makes it. Anything else is refused by `transition`.
# A suspended partnership may also be closed outright: reinstating it only to close it
# would record a false approval in the timeline.
TRANSITIONS = Transitions(
    {
        (S.DRAFT, S.SUBMITTED): "applicant",
        (S.CHANGES_REQUESTED, S.SUBMITTED): "applicant",
        (S.SUBMITTED, S.APPROVED): "ilo",
        (S.SUBMITTED, S.REJECTED): "ilo",
        (S.SUBMITTED, S.CHANGES_REQUESTED): "ilo",
        (S.APPROVED, S.SUSPENDED): "ilo",
        (S.SUSPENDED, S.APPROVED): "ilo",
        (S.APPROVED, S.CLOSED): "ilo",
        (S.SUSPENDED, S.CLOSED): "ilo",
    }
)

# Plain field values a draft is made of (the modules are set separately).
DRAFT_FIELDS = (
    "kind",
    "title",
    "countries",
    "factory_quota",
    "budget",
    "currency",
    "brand_share_percent",
    "start_date",
    "end_date",
    "contact_name",
    "contact_email",
    "supporting_document",
)


class PartnershipError(Exception):
    """A partnership rule was broken; the message is for the person who tried."""


def allowed_moves(partnership: Partnership, user: User) -> list[str]:
    """The statuses ``user`` may move ``partnership`` to now (for the buttons on its page)."""
    return TRANSITIONS.allowed_moves(
        partnership.status, lambda who: _may_act(user, partnership, who)
    )


def _may_act(user: User, partnership: Partnership, who: str) -> bool:
    if who == "ilo":
        return can_decide_partnerships(scope_of(user))
    return can_act_for_partner(scope_of(user), partnership.partner_id)


@records_actor()
@transaction.atomic
def save_draft(
    *,
    partner: Partner,
    actor: User,
    values: dict[str, Any],
    modules: Iterable[Any] = (),  # training's modules (partners import no training)
    partnership: Partnership | None = None,
) -> Partnership:
    """Create or update an application while it is a draft (or sent back for changes)."""
    if partner.kind == Partner.Kind.ILO:
        raise PartnershipError(_("The ILO does not apply for partnerships with itself."))
    if not can_act_for_partner(scope_of(actor), partner.pk):
        raise PartnershipError(_("Only your organisation's administrators and staff may apply."))
    if partnership is None:
        partnership = Partnership(partner=partner, created_by=actor)
    else:
        partnership = Partnership.objects.select_for_update().get(pk=partnership.pk)
        if partnership.partner_id != partner.pk:
            raise PartnershipError(_("This application belongs to another organisation."))
        if not partnership.is_editable:
            raise PartnershipError(
                _("An application in the status “%(status)s” can no longer be edited.")
                % {"status": partnership.get_status_display()}
            )
    for name in DRAFT_FIELDS:
        if name in values:
            setattr(partnership, name, values[name])
    partnership.save()
    partnership.modules.set(modules)
    if not partnership.events.exists():
        PartnershipEvent.objects.create(
            partnership=partnership, actor=actor, from_status="", to_status=S.DRAFT
        )
    return partnership


def missing_for_submission(partnership: Partnership) -> list[str]:
    """What an application still lacks before the ILO can review it, in words."""
    missing = []
    if not partnership.title.strip():
        missing.append(_("a title"))
    if not partnership.countries:
        missing.append(_("at least one country"))
    if not partnership.modules.exists():
        missing.append(_("at least one module"))
    if partnership.kind != Partnership.Kind.LICENCE and partnership.factory_quota < 1:
        missing.append(_("the number of factories to fund"))
    if partnership.start_date is None or partnership.end_date is None:
        missing.append(_("start and end dates"))
    if not partnership.contact_email:
        missing.append(_("a contact email"))
    return missing


@records_actor()
@transaction.atomic
def transition(
    *, partnership: Partnership, actor: User, to_status: str, note: str = ""
) -> Partnership:
    """Move ``partnership`` to ``to_status`` if the lifecycle and the actor allow it.

    Records the change in the timeline and queues the emails it causes, in the same
    transaction: a refused move changes nothing and sends nothing.
    """
    locked = (
        Partnership.objects.select_for_update().select_related("partner").get(pk=partnership.pk)
    )
    from_status = locked.status
    who = TRANSITIONS.who(from_status, to_status)
    if who is None:
        raise PartnershipError(
            _("A partnership in the status “%(from)s” cannot be moved to “%(to)s”.")
            % {
                "from": Partnership.Status(from_status).label,
                "to": Partnership.Status(to_status).label
                if to_status in Partnership.Status.values
                else to_status,
            }
        )
    if not _may_act(actor, locked, who):
        raise PartnershipError(
            _("Only ILO administrators decide on partnerships.")
            if who == "ilo"
            else _("Only your organisation's administrators and staff may submit.")
        )
    note = note.strip()
    if who == "ilo" and not note:
        raise PartnershipError(_("Please write a note explaining the decision."))
    if to_status == S.SUBMITTED:
        missing = missing_for_submission(locked)
        if missing:
            raise PartnershipError(
                _("Before submitting, add %(missing)s.") % {"missing": ", ".join(missing)}
            )
    locked.status = to_status
    locked.save(update_fields=["status", "updated_at"])
    event = PartnershipEvent.objects.create(
        partnership=locked, actor=actor, from_status=from_status, to_status=to_status, note=note
    )
    _notify(event)
    partnership.refresh_from_db()
    return locked


def _notify(event: PartnershipEvent) -> None:
    """Submissions go to the ILO's deciders; decisions go to the applicant's people."""
    partnership = event.partnership
    if event.to_status == S.SUBMITTED:
        template = "partnership_submitted"
        recipients = User.objects.filter(
            memberships__partner__kind=Partner.Kind.ILO,
            memberships__role__in=Membership.ACTING_ROLES,
            is_active=True,
        )
    else:
        template = "partnership_decided"
        recipients = User.objects.filter(
            memberships__partner=partnership.partner,
            memberships__role__in=[*Membership.ACTING_ROLES, Membership.Role.VIEWER],
            is_active=True,
        )
    for recipient in recipients.distinct().order_by("pk"):
        queue_email(
            to=recipient.email,
            template=template,
            context={"partnership": partnership, "event": event, "recipient": recipient},
            language=recipient.language or None,
            link=partnership.get_absolute_url(),
        )
