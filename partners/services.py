"""Writes about partners: organisations, their people and partnerships."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from partners.models import Membership, Partner
from score_portal.permissions import forget_scope

if TYPE_CHECKING:
    from score_portal.models import User


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
    forget_scope(user)
    return membership
