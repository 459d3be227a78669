"""Reads about partners and partnerships, scoped to the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet

from partners.models import Partner, Partnership
from training.models import Enrolment

if TYPE_CHECKING:
    from score_portal.models import User

# Places a partnership has used: every enrolment it funds that is not declined or withdrawn.
_FUNDED = Q(enrolments__status__in=Enrolment.ACTIVE_STATUSES)


def partnerships_with_ledger(user: User) -> QuerySet[Partnership]:
    """The user's partnerships with the number of factories each funds, in one query."""
    return (
        Partnership.objects.visible_to(user)
        .select_related("partner")
        .annotate(factories_funded=Count("enrolments__factory", filter=_FUNDED, distinct=True))
        .order_by("-created_at")
    )


def partners_of(user: User) -> QuerySet[Partner]:
    return Partner.objects.visible_to(user).order_by("name")
