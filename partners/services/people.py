"""Writes about an organisation's people: members, their roles, and invitations to join.

The rules, enforced here whoever calls (the People page, the ILO's onboarding, the admin):

- an organisation always keeps at least one administrator once it has one: the last one can
  be neither demoted nor removed (oneself included). The organisation's row is locked while
  its administrators are counted, so two administrators demoting each other at the same
  moment cannot both succeed;
- a trainer belongs to a service provider only;
- an invitation is a link with a random token (only its hash is stored), valid for
  ``INVITATION_DAYS``; it is accepted once, by a signed-in person holding a *verified*
  address equal to the invited one; resending draws a new token (the old link dies);
  revoking closes it.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from partners.models import Invitation, Membership, Partner
from score_portal.access import can_manage_people, can_onboard_partners
from score_portal.emails import queue_email
from score_portal.history import records_actor
from score_portal.models import User
from score_portal.scope import forget_scope, scope_of

# The Django admin group of the ILO's acting people: the portal's own models, nothing else
# (not users' passwords, not Django's internals). Kept in step with the apps on each grant.
ILO_ADMIN_GROUP = "ILO programme team"
ILO_ADMIN_APPS = ("partners", "suppliers", "training", "reporting", "score_portal")

# How long an invitation link works; resending starts it again.
INVITATION_DAYS = 14


class PartnerError(Exception):
    """A rule about partners was broken; the message is for the person who tried."""


def roles_for(partner: Partner) -> list[tuple[str, str]]:
    """The roles a member of ``partner`` may hold: trainers only at service providers."""
    return [
        (value, str(label))
        for value, label in Membership.Role.choices
        if value != Membership.Role.TRAINER or partner.kind == Partner.Kind.SERVICE_PROVIDER
    ]


def _check_role(partner: Partner, role: str) -> None:
    if role not in Membership.Role.values:
        raise PartnerError(_("Choose a role."))
    if role == Membership.Role.TRAINER and partner.kind != Partner.Kind.SERVICE_PROVIDER:
        raise PartnerError(
            _("%(partner)s is not a service provider, so it has no trainers.")
            % {"partner": partner}
        )


def _check_manager(partner: Partner, actor: User | None) -> None:
    """``actor`` None is the system (demo data, a management command)."""
    if actor is not None and not can_manage_people(
        scope_of(actor), partner.pk, is_ilo_organisation=partner.kind == Partner.Kind.ILO
    ):
        raise PartnerError(_("Only the organisation's administrators manage its people."))


def _lock(partner: Partner) -> Partner:
    """The organisation's row, locked until the transaction ends: the one lock every change
    to its people takes, so its administrators are counted by one writer at a time."""
    return Partner.objects.select_for_update().get(pk=partner.pk)


def _keeps_an_admin(partner: Partner, membership: Membership, new_role: str | None) -> None:
    """Refuse to leave ``partner`` without an administrator (``new_role`` None: removal)."""
    if membership.role != Membership.Role.ADMIN or new_role == Membership.Role.ADMIN:
        return
    others = (
        Membership.objects.filter(partner=partner, role=Membership.Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )
    if not others:
        raise PartnerError(
            _(
                "%(partner)s must keep at least one administrator: make someone else "
                "an administrator first."
            )
            % {"partner": partner}
        )


@records_actor()
@transaction.atomic
def add_member(*, partner: Partner, user: User, role: str, actor: User | None = None) -> Membership:
    """Give ``user`` a role in ``partner`` (or change it). Trainers belong to providers only.

    ``actor`` (who grants it) is named in the membership's history."""
    _check_role(partner, role)
    partner = _lock(partner)
    membership = Membership.objects.filter(user=user, partner=partner).first()
    if membership is None:
        membership = Membership.objects.create(user=user, partner=partner, role=role)
    elif membership.role != role:  # an unchanged role writes no history row
        _keeps_an_admin(partner, membership, role)
        membership.role = role
        membership.save(update_fields=["role"])
    _sync_admin_site(user)
    forget_scope(user)
    return membership


@records_actor()
@transaction.atomic
def change_role(*, membership: Membership, role: str, actor: User | None) -> Membership:
    """Change a member's role; the last administrator stays one."""
    partner = _lock(membership.partner)
    _check_manager(partner, actor)
    _check_role(partner, role)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == role:
        return membership
    _keeps_an_admin(partner, membership, role)
    membership.role = role
    membership.save(update_fields=["role"])
    _sync_admin_site(membership.user)
    forget_scope(membership.user)
    _tell_member(membership.user, partner, actor, role=role)
    return membership


@records_actor()
@transaction.atomic
def remove_member(*, membership: Membership, actor: User | None) -> None:
    """Take a person out of an organisation (their account stays); never its last admin."""
    partner = _lock(membership.partner)
    _check_manager(partner, actor)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _keeps_an_admin(partner, membership, None)
    user = membership.user
    membership.delete()
    _sync_admin_site(user)
    forget_scope(user)
    _tell_member(user, partner, actor, role=None)


def _tell_member(user: User, partner: Partner, actor: User | None, *, role: str | None) -> None:
    """A person's access changed: they hear it (always emailed, and in their inbox), in their
    language, with who changed it. ``role`` None: they were removed."""
    if actor is not None and actor.pk == user.pk:
        return  # one's own change needs no news
    queue_email(
        to=user.email,
        template="membership_changed",
        context={
            "recipient": user,
            "partner_name": partner.name,
            "role": role,
            "role_label": Membership.Role(role).label if role else "",
            "actor": actor.display_name if actor is not None else "",
        },
        language=user.language or settings.LANGUAGE_CODE,
        link=reverse("home"),
    )


def _sync_admin_site(user: User) -> None:
    """ILO admins and staff keep the catalogue and the programme's data in the Django admin;
    whoever stops being one loses it (a superuser keeps everything)."""
    acting_at_ilo = Membership.objects.filter(
        user=user, partner__kind=Partner.Kind.ILO, role__in=Membership.ACTING_ROLES
    ).exists()
    if acting_at_ilo:
        group, _created = Group.objects.get_or_create(name=ILO_ADMIN_GROUP)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label__in=ILO_ADMIN_APPS).exclude(
                content_type__model="user"
            )
        )
        user.groups.add(group)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    elif user.groups.filter(name=ILO_ADMIN_GROUP).exists():
        user.groups.remove(*user.groups.filter(name=ILO_ADMIN_GROUP))
        if user.is_staff and not user.is_superuser:
            user.is_staff = False
            user.save(update_fields=["is_staff"])


# --- Invitations -------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_invitation(token: str) -> Invitation | None:
    """The invitation a link's token opens (whatever its state), or None."""
    if not token or len(token) > 100:
        return None
    return (
        Invitation.objects.select_related("partner", "invited_by")
        .filter(token_hash=_hash(token))
        .first()
    )


def _send(invitation: Invitation, actor: User | None) -> None:
    """Draw a new token, start the validity again and email the link (the old link dies)."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = _hash(token)
    invitation.sent_at = now
    invitation.expires_at = now + datetime.timedelta(days=INVITATION_DAYS)
    invitation.save()
    invitee_language = (
        User.objects.filter(email__iexact=invitation.email)
        .values_list("language", flat=True)
        .first()
    )
    language = (
        invitee_language
        or (actor.language if actor is not None else "")
        or translation.get_language()
        or settings.LANGUAGE_CODE
    )
    queue_email(
        to=invitation.email,
        template="organisation_invitation",
        context={
            "invitation": invitation,
            "partner_name": invitation.partner.name,
            "inviter": (actor.display_name if actor is not None else ""),
            "role": invitation.role,
            "accept_url": settings.SITE_URL + reverse("partners:invitation_accept", args=[token]),
            "expires_at": invitation.expires_at,
        },
        language=language,
    )


@transaction.atomic
def invite(*, partner: Partner, email: str, role: str, actor: User | None) -> Invitation:
    """Invite ``email`` to join ``partner`` with ``role`` and email them the link. An open
    invitation to the same address is updated and sent again."""
    partner = _lock(partner)
    _check_manager(partner, actor)
    _check_role(partner, role)
    email = email.strip().lower()
    if Membership.objects.filter(partner=partner, user__email__iexact=email).exists():
        raise PartnerError(
            _("%(email)s is already a member of %(partner)s: change their role in the list.")
            % {"email": email, "partner": partner}
        )
    invitation = Invitation.objects.pending().filter(partner=partner, email=email).first()
    if invitation is None:
        invitation = Invitation(partner=partner, email=email)
    invitation.role = role
    invitation.invited_by = actor
    _send(invitation, actor)
    return invitation


@transaction.atomic
def resend_invitation(*, invitation: Invitation, actor: User | None) -> Invitation:
    """Send a pending invitation again, with a new link and a new expiry."""
    _lock(invitation.partner)
    _check_manager(invitation.partner, actor)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise PartnerError(_("This invitation is closed; invite the person again."))
    _send(invitation, actor)
    return invitation


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, actor: User | None) -> Invitation:
    """Close a pending invitation: its link stops working."""
    _lock(invitation.partner)
    _check_manager(invitation.partner, actor)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise PartnerError(_("This invitation was already accepted."))
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return invitation


def invitation_refusal(invitation: Invitation | None, user: User) -> str | None:
    """Why ``user`` cannot accept ``invitation`` now, as a sentence; None when they can."""
    if invitation is None or invitation.revoked_at is not None:
        return _("This invitation link is not valid (it may have been withdrawn or resent).")
    if invitation.accepted_at is not None:
        return _("This invitation has already been used.")
    if invitation.is_expired:
        return _("This invitation has expired: ask %(partner)s to send it again.") % {
            "partner": invitation.partner
        }
    verified = EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    ).exists()
    if not verified:
        return _(
            "This invitation was sent to %(invited)s, but you are signed in as %(current)s. "
            "Sign out and sign in (or sign up) with %(invited)s, or add and verify that "
            "address under Email addresses."
        ) % {"invited": invitation.email, "current": user.email}
    return None


@records_actor("user")
@transaction.atomic
def accept_invitation(*, token: str, user: User) -> Membership:
    """Join the organisation the invitation names, with its role; the invitation is used up.

    Refused (``PartnerError``) unless the link is open and ``user`` holds a verified address
    equal to the invited one."""
    found = find_invitation(token)
    if found is not None:
        _lock(found.partner)
        found = Invitation.objects.select_for_update().select_related("partner").get(pk=found.pk)
    refusal = invitation_refusal(found, user)
    if refusal is not None:
        raise PartnerError(refusal)
    assert found is not None
    membership = add_member(partner=found.partner, user=user, role=found.role, actor=user)
    found.accepted_at = timezone.now()
    found.accepted_by = user
    found.save(update_fields=["accepted_at", "accepted_by"])
    return membership


# --- Organisations -----------------------------------------------------------------------


@transaction.atomic
def create_partner(
    *,
    name: str,
    kind: str,
    actor: User,
    admin_email: str,
    short_name: str = "",
    country: str = "",
    website: str = "",
) -> tuple[Partner, Invitation]:
    """The ILO opens a partner organisation and invites its first administrator."""
    if not can_onboard_partners(scope_of(actor)):
        raise PartnerError(_("Only ILO administrators and staff create organisations."))
    if kind not in Partner.Kind.values or kind == Partner.Kind.ILO:
        raise PartnerError(_("Choose the kind of organisation."))
    if Partner.objects.filter(name__iexact=name.strip()).exists():
        raise PartnerError(_("An organisation with this name already exists."))
    try:
        with transaction.atomic():
            partner = Partner.objects.create(
                name=name.strip(),
                short_name=short_name.strip(),
                kind=kind,
                country=country,
                website=website,
            )
    except IntegrityError:
        raise PartnerError(_("An organisation with this name already exists.")) from None
    invitation = invite(partner=partner, email=admin_email, role=Membership.Role.ADMIN, actor=actor)
    return partner, invitation
