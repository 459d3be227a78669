"""Writes about partners: organisations, their people and partnerships."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from partners.models import Membership, Partner
from score_portal.permissions import forget_scope

if TYPE_CHECKING:
    from score_portal.models import User


# The Django admin group of the ILO's acting people: the portal's own models, nothing else
# (not users' passwords, not Django's internals). Kept in step with the apps on each grant.
ILO_ADMIN_GROUP = "ILO programme team"
ILO_ADMIN_APPS = ("partners", "suppliers", "training", "score_portal")


class PartnerError(Exception):
    """A rule about partners was broken; the message is for the person who tried."""


@transaction.atomic
def add_member(*, partner: Partner, user: User, role: str) -> Membership:
    """Give ``user`` a role in ``partner`` (or change it). Trainers belong to providers only."""
    if role not in Membership.Role.values:
        raise PartnerError(f"Unknown role: {role}.")
    if role == Membership.Role.TRAINER and partner.kind != Partner.Kind.SERVICE_PROVIDER:
        raise PartnerError(f"{partner} is not a service provider, so it has no trainers.")
    membership, _ = Membership.objects.update_or_create(
        user=user, partner=partner, defaults={"role": role}
    )
    if partner.kind == Partner.Kind.ILO and role in Membership.ACTING_ROLES:
        _open_admin_site(user)
    forget_scope(user)
    return membership


def _open_admin_site(user: User) -> None:
    """ILO admins keep the catalogue and the programme's data in the Django admin."""
    group, _ = Group.objects.get_or_create(name=ILO_ADMIN_GROUP)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=ILO_ADMIN_APPS).exclude(
            content_type__model="user"
        )
    )
    user.groups.add(group)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
