"""Reads about partners and partnerships, scoped to the user."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce
from django.http import Http404

from partners.models import Invitation, Membership, Partner, Partnership, PartnershipEvent
from score_portal import access
from score_portal.history import HistoryEntry, change_rows
from score_portal.scope import Scope

# A place is one factory the partnership funds in an enrolment that holds one (not declined
# or withdrawn: training says which, in Enrolment.holds_place); withdrawing releases it.
# Co-funding (README, "Co-funding") splits a place: a factory the partnership funds alone in
# some module is one place; otherwise its place is the sum of the partnership's shares in
# that factory's enrolments (the lead funder's ``lead_share``, a co-funder's ``share`` in
# force). Partners count by these lookups and know nothing else of enrolments.
CENT = Decimal("0.01")
_PLACES = DecimalField(max_digits=12, decimal_places=2)


def _model_of(relation: str) -> type:
    related = Partnership._meta.get_field(relation).related_model
    assert isinstance(related, type)
    return related


def places_used() -> Combinable:
    """An annotation for a Partnership queryset: the places its funding uses (a Decimal)."""
    enrolments = _model_of("enrolments")._default_manager  # type: ignore[attr-defined]
    cofundings = _model_of("cofundings")._default_manager  # type: ignore[attr-defined]
    whole = enrolments.filter(partnership_id=OuterRef("pk"), holds_place=True, lead_share=1)
    alone = enrolments.filter(
        partnership_id=OuterRef(OuterRef("pk")), holds_place=True, lead_share=1
    ).values("factory_id")
    led = (
        enrolments.filter(partnership_id=OuterRef("pk"), holds_place=True, lead_share__lt=1)
        .exclude(factory_id__in=alone)
        .order_by()
        .values("partnership_id")
        .annotate(total=Sum("lead_share"))
        .values("total")
    )
    cofunded = (
        cofundings.filter(partnership_id=OuterRef("pk"), in_force=True, enrolment__holds_place=True)
        .exclude(enrolment__factory_id__in=alone)
        .order_by()
        .values("partnership_id")
        .annotate(total=Sum("share"))
        .values("total")
    )
    factories = (
        whole.order_by()
        .values("partnership_id")
        .annotate(n=Count("factory_id", distinct=True))
        .values("n")
    )
    zero = Value(Decimal(0), output_field=_PLACES)
    return (
        Coalesce(Subquery(factories, output_field=_PLACES), zero, output_field=_PLACES)
        + Coalesce(Subquery(led, output_field=_PLACES), zero, output_field=_PLACES)
        + Coalesce(Subquery(cofunded, output_field=_PLACES), zero, output_field=_PLACES)
    )


@dataclass(frozen=True)
class Ledger:
    """Quota and budget of a partnership, derived from the enrolments it funds.

    The budget is committed in equal shares per funded factory (budget / quota): the
    agreement funds a number of factories, so each place carries its share of the budget.
    A co-funded place counts the partnership's share of it (0.5 of a place, half of its
    budget share), so ``funded`` is a Decimal.
    """

    quota: int
    funded: Decimal
    budget: Decimal
    partner_share_percent: int

    @property
    def places_left(self) -> Decimal:
        return max(Decimal(self.quota) - self.funded, Decimal(0))

    @property
    def budget_committed(self) -> Decimal:
        if self.quota <= 0:
            return Decimal(0)
        share = Decimal(self.budget) * min(self.funded, Decimal(self.quota)) / self.quota
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
        if self.quota <= 0:
            return 0
        return min(round(100 * self.funded / self.quota), 100)


def places_of(partnership: Partnership) -> Decimal:
    """The places ``partnership`` uses (read now: the row may be locked by the caller)."""
    found = (
        Partnership.objects.filter(pk=partnership.pk)
        .annotate(used=places_used())
        .values_list("used", flat=True)
        .first()
    )
    return Decimal(found or 0)


def ledger_of(partnership: Partnership) -> Ledger:
    funded = getattr(partnership, "factories_funded", None)
    if funded is None:
        funded = places_of(partnership)
    return Ledger(
        quota=partnership.factory_quota,
        funded=Decimal(funded or 0).quantize(CENT),
        budget=partnership.budget,
        partner_share_percent=partnership.brand_share_percent,
    )


def partnerships_with_ledger(scope: Scope) -> QuerySet[Partnership]:
    """The person's partnerships with the places each uses (``factories_funded``, a
    Decimal: co-funded places count the partnership's share), in one query."""
    return (
        Partnership.objects.visible_to(scope)
        .select_related("partner")
        .annotate(factories_funded=places_used())
        .order_by("-created_at", "-pk")
    )


def partnership_page(scope: Scope) -> QuerySet[Partnership]:
    """Partnerships with what one's page shows: modules and the timeline with actors."""
    return partnerships_with_ledger(scope).prefetch_related(
        "modules",
        Prefetch("events", queryset=PartnershipEvent.objects.select_related("actor")),
    )


def applying_partners(scope: Scope) -> QuerySet[Partner]:
    """Organisations the person may apply for: where they act, except the ILO itself."""
    return Partner.objects.filter(
        pk__in=access.applying_partner_ids(scope), is_active=True
    ).order_by("name")


def brands_of(scope: Scope, *, acting: bool) -> QuerySet[Partner]:
    """The brands one acts for (``acting``) or reads, by name."""
    return Partner.objects.filter(pk__in=access.brand_ids(scope, acting=acting)).order_by("name")


def chosen_brand(scope: Scope, wanted: object, *, acting: bool) -> Partner | None:
    """The brand a page works for: ``wanted`` (``?brand=``) when given, else the first of
    the person's brands by name; None when they have none. A wanted brand that is not
    theirs (or not an id at all) is not found: 404, like any object out of reach."""
    brands = brands_of(scope, acting=acting)
    if wanted in (None, ""):
        return brands.first()
    brand_id = access.parse_id(wanted)
    brand = None if brand_id is None else brands.filter(pk=brand_id).first()
    if brand is None:
        raise Http404
    return brand


# --- History (score_portal.history): only for an object the view found in the user's reach.

HISTORY_LIMIT = 200


def partnership_history(partnership: Partnership) -> list[HistoryEntry]:
    """Every recorded change of the partnership's fields and modules, newest first."""
    return change_rows(Partnership.history.filter(id=partnership.pk))[:HISTORY_LIMIT]


def membership_history(partner: Partner) -> list[HistoryEntry]:
    """Who was given, changed or lost a role in ``partner``, newest first."""
    return change_rows(
        Membership.history.filter(partner_id=partner.pk).select_related("user"),
        subject=lambda row: str(row.user) if row.user else _membership_label(),
        hide=["partner"],
    )[:HISTORY_LIMIT]


def _membership_label() -> str:
    return str(Membership._meta.verbose_name).capitalize()


def managed_organisations(scope: Scope) -> QuerySet[Partner]:
    """Organisations whose people the person manages, with their member counts."""
    return (
        Partner.objects.visible_to(scope)
        .filter(access.people_managed_reach(scope))
        .annotate(
            member_count=Count("memberships", distinct=True),
            pending_count=Count(
                "invitations",
                filter=Q(
                    invitations__accepted_at__isnull=True, invitations__revoked_at__isnull=True
                ),
                distinct=True,
            ),
        )
        .order_by("kind", "name")
    )


def members_of(partner: Partner) -> QuerySet[Membership]:
    """An organisation's people, administrators first."""
    return (
        Membership.objects.filter(partner=partner)
        .select_related("user")
        .annotate(
            admin_first=Case(When(role=Membership.Role.ADMIN, then=0), default=1),
        )
        .order_by("admin_first", "user__email")
    )


def pending_invitations(partner: Partner) -> QuerySet[Invitation]:
    """Invitations neither accepted nor revoked (expired ones too: they may be resent)."""
    return partner.invitations.pending().select_related("invited_by").order_by("-sent_at")
