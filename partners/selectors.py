"""Reads about partners and partnerships, scoped to the user."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, Prefetch, Q, QuerySet

from partners.models import Partner, Partnership, PartnershipEvent
from training.models import Enrolment

if TYPE_CHECKING:
    from score_portal.models import User

# A place is used by every factory the partnership funds in an enrolment that is not
# declined or withdrawn; withdrawing releases the place.
_FUNDED = Q(enrolments__status__in=Enrolment.ACTIVE_STATUSES)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Ledger:
    """Quota and budget of a partnership, derived from the enrolments it funds.

    The budget is committed in equal shares per funded factory (budget / quota): the
    agreement funds a number of factories, so each place carries its share of the budget.
    """

    quota: int
    funded: int
    budget: Decimal
    partner_share_percent: int

    @property
    def places_left(self) -> int:
        return max(self.quota - self.funded, 0)

    @property
    def budget_committed(self) -> Decimal:
        if self.quota <= 0:
            return Decimal(0)
        share = Decimal(self.budget) * min(self.funded, self.quota) / self.quota
        return share.quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def budget_left(self) -> Decimal:
        return (Decimal(self.budget) - self.budget_committed).quantize(CENT)

    @property
    def partner_pays(self) -> Decimal:
        """The partner's part of the committed budget; factories pay the rest."""
        share = self.budget_committed * self.partner_share_percent / 100
        return share.quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def percent_used(self) -> int:
        return 0 if self.quota <= 0 else min(round(100 * self.funded / self.quota), 100)


def ledger_of(partnership: Partnership) -> Ledger:
    funded = getattr(partnership, "factories_funded", None)
    if funded is None:
        funded = (
            partnership.enrolments.filter(status__in=Enrolment.ACTIVE_STATUSES)
            .values("factory")
            .distinct()
            .count()
        )
    return Ledger(
        quota=partnership.factory_quota,
        funded=funded,
        budget=partnership.budget,
        partner_share_percent=partnership.brand_share_percent,
    )


def partnerships_with_ledger(user: User) -> QuerySet[Partnership]:
    """The user's partnerships with the number of factories each funds, in one query."""
    return (
        Partnership.objects.visible_to(user)
        .select_related("partner")
        .annotate(factories_funded=Count("enrolments__factory", filter=_FUNDED, distinct=True))
        .order_by("-created_at", "-pk")
    )


def partnership_page(user: User, pk: int) -> QuerySet[Partnership]:
    """One partnership with what its page shows: modules and the timeline with actors."""
    return partnerships_with_ledger(user).prefetch_related(
        "modules",
        Prefetch("events", queryset=PartnershipEvent.objects.select_related("actor")),
    )


def applying_partners(user: User) -> QuerySet[Partner]:
    """Organisations the user may apply for: where they act, except the ILO itself."""
    from score_portal.permissions import scope_of

    scope = scope_of(user)
    acting = scope.funding_acting_ids | scope.provider_acting_ids
    return Partner.objects.filter(pk__in=acting, is_active=True).order_by("name")
