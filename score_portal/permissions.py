"""Who may see and do what: the one place that answers it.

Every tenant-owned query starts from a user's scope (``Model.objects.visible_to(user)``,
which asks ``scope_of`` here), and every "may this user do this to that?" question is a
function in this module. Views never decide access by themselves. An object outside a
user's reach is fetched through ``get_visible_or_404`` and answers 404, exactly like a
missing one, so no id-guessing tells anyone what exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db import connections, router
from django.db.models import CharField, Model, QuerySet, Value
from django.http import Http404

if TYPE_CHECKING:
    from partners.models import Partner, Partnership
    from score_portal.models import User
    from suppliers.models import Factory
    from training.models import Cohort, Enrolment


class Role(StrEnum):
    """The kinds of home a signed-in person lands on, in order of precedence."""

    ILO = "ilo"
    BRAND = "brand"
    PROVIDER = "provider"
    TRAINER = "trainer"
    FACTORY = "factory"
    NONE = "none"


@dataclass(frozen=True)
class Scope:
    """Everything a user can reach, computed once per request (one small query)."""

    user_id: int | None = None
    is_superuser: bool = False
    ilo_roles: frozenset[str] = frozenset()
    # partner id -> role, split by the partner's kind
    funding_roles: dict[int, str] = field(default_factory=dict)  # brands and initiatives
    provider_roles: dict[int, str] = field(default_factory=dict)  # service providers
    factory_ids: frozenset[int] = frozenset()
    # Cohorts the user delivers as their trainer: their enrolments are within reach.
    trained_cohort_ids: frozenset[int] = frozenset()

    @property
    def is_ilo(self) -> bool:
        return self.is_superuser or bool(self.ilo_roles)

    @property
    def sees_everything(self) -> bool:
        """ILO people (and superusers) watch the whole programme."""
        return self.is_ilo

    @property
    def is_ilo_decider(self) -> bool:
        """ILO admins and staff decide on partnerships and keep the catalogue."""
        from partners.models import Membership

        return self.is_superuser or bool(self.ilo_roles & set(Membership.ACTING_ROLES))

    @property
    def funding_ids(self) -> frozenset[int]:
        return frozenset(self.funding_roles)

    @property
    def funding_acting_ids(self) -> frozenset[int]:
        from partners.models import Membership

        return frozenset(p for p, r in self.funding_roles.items() if r in Membership.ACTING_ROLES)

    @property
    def provider_acting_ids(self) -> frozenset[int]:
        from partners.models import Membership

        return frozenset(p for p, r in self.provider_roles.items() if r in Membership.ACTING_ROLES)

    @property
    def provider_ids(self) -> frozenset[int]:
        return frozenset(self.provider_roles)

    @property
    def provider_staff_ids(self) -> frozenset[int]:
        """Providers where the user organises cohorts (not merely delivers them)."""
        from partners.models import Membership

        return frozenset(p for p, r in self.provider_roles.items() if r != Membership.Role.TRAINER)

    @property
    def is_trainer(self) -> bool:
        from partners.models import Membership

        return Membership.Role.TRAINER in self.provider_roles.values()

    @property
    def partner_ids(self) -> frozenset[int]:
        return self.funding_ids | self.provider_ids

    @property
    def primary_role(self) -> Role:
        if self.is_ilo:
            return Role.ILO
        if self.funding_roles:
            return Role.BRAND
        if self.provider_staff_ids:
            return Role.PROVIDER
        if self.is_trainer:
            return Role.TRAINER
        if self.factory_ids:
            return Role.FACTORY
        return Role.NONE


_ANONYMOUS_SCOPE = Scope()
# Mark managed factories and trained cohorts among the membership rows (never a Partner.Kind).
_FACTORY = "~factory"
_COHORT = "~cohort"


def _tagged(queryset: QuerySet[Any], id_field: str, tag: str) -> QuerySet[Any]:
    """Rows shaped like (partner_id, kind, role) for the one-query union of scope_of."""
    return (
        queryset.order_by()
        .annotate(
            scope_tag=Value(tag, output_field=CharField()),
            no_role=Value("", output_field=CharField()),
        )
        .values_list(id_field, "scope_tag", "no_role")
    )


def scope_of(user: User | AnonymousUser | None) -> Scope:
    """The user's scope, cached on the user object for the rest of the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return _ANONYMOUS_SCOPE
    cached: Scope | None = getattr(user, "_score_scope", None)
    if cached is not None:
        return cached

    from partners.models import Partner

    ilo_roles: set[str] = set()
    funding: dict[int, str] = {}
    providers: dict[int, str] = {}
    factory_ids: set[int] = set()
    cohort_ids: set[int] = set()
    for object_id, kind, role in _scope_rows(user.pk):
        if kind == _FACTORY:
            factory_ids.add(object_id)
        elif kind == _COHORT:
            cohort_ids.add(object_id)
        elif kind == Partner.Kind.ILO:
            ilo_roles.add(role)
        elif kind in Partner.FUNDING_KINDS:
            funding[object_id] = role
        elif kind == Partner.Kind.SERVICE_PROVIDER:
            providers[object_id] = role
    scope = Scope(
        user_id=user.pk,
        is_superuser=user.is_superuser,
        ilo_roles=frozenset(ilo_roles),
        funding_roles=funding,
        provider_roles=providers,
        factory_ids=frozenset(factory_ids),
        trained_cohort_ids=frozenset(cohort_ids),
    )
    user._score_scope = scope  # type: ignore[union-attr, attr-defined]
    return scope


# A user id no row has, standing for the real one in the scope query compiled once.
_ANY_USER = -7_391_204_583


@cache
def _scope_query(alias: str) -> tuple[str, tuple[Any, ...]]:
    """The scope's one round trip, compiled once per database: the user's memberships,
    managed factories and trained cohorts as one UNION ALL.

    It runs on every signed-in request, and building and compiling a three-part union
    through the ORM cost about three times what PostgreSQL takes to answer it.
    """
    from partners.models import Membership
    from suppliers.models import FactoryManager
    from training.models import Cohort

    memberships = (
        Membership.objects.using(alias)
        .filter(user_id=_ANY_USER, partner__is_active=True)
        .order_by()
        .values_list("partner_id", "partner__kind", "role")
    )
    managed = _tagged(FactoryManager.objects.filter(user_id=_ANY_USER), "factory_id", _FACTORY)
    trained = _tagged(Cohort.objects.filter(trainer_id=_ANY_USER), "pk", _COHORT)
    union = memberships.union(managed, trained, all=True)
    sql, params = union.query.get_compiler(using=alias).as_sql()
    return sql, tuple(params)


def _scope_rows(user_id: int) -> list[tuple[int, str, str]]:
    """(object id, partner kind or tag, role) rows of the user's scope."""
    from partners.models import Membership

    alias = router.db_for_read(Membership)
    sql, params = _scope_query(alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [user_id if p == _ANY_USER else p for p in params])
        return cursor.fetchall()


def forget_scope(user: Any) -> None:
    """Drop the cached scope after the user's memberships changed in this request."""
    if hasattr(user, "_score_scope"):
        del user._score_scope


M = TypeVar("M", bound=Model)


def get_visible_or_404(queryset: QuerySet[M], user: Any, **lookup: Any) -> M:
    """Fetch one object from the user's scope; anything outside it is simply not found."""
    visible = queryset.visible_to(user)  # type: ignore[attr-defined]
    try:
        obj: M = visible.get(**lookup)
    except (visible.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    return obj


# --- Questions about actions --------------------------------------------------------------


def can_decide_partnerships(user: User | AnonymousUser) -> bool:
    return scope_of(user).is_ilo_decider


def can_act_for_partner(user: User | AnonymousUser, partner: Partner) -> bool:
    """Admins and staff act for their organisation; viewers only read."""
    from partners.models import Membership

    scope = scope_of(user)
    role = scope.funding_roles.get(partner.pk) or scope.provider_roles.get(partner.pk)
    return role in Membership.ACTING_ROLES


def acts_for_a_brand(user: User | AnonymousUser) -> bool:
    """Admins or staff of some brand: they upload supplier lists and enrol suppliers (the
    brand itself is chosen on the page, and checked there with ``can_act_for_partner``)."""
    return bool(scope_of(user).funding_acting_ids)


def can_manage_supplier_list(user: User | AnonymousUser, brand: Partner) -> bool:
    return brand.is_funding and can_act_for_partner(user, brand)


def can_fund_with(user: User | AnonymousUser, partnership: Partnership) -> bool:
    return can_act_for_partner(user, partnership.partner)


def can_manage_factory(user: User | AnonymousUser, factory: Factory) -> bool:
    """The factory's own managers answer for it (confirm enrolments, record KPIs)."""
    return factory.pk in scope_of(user).factory_ids


def can_deliver(user: User | AnonymousUser, cohort: Cohort) -> bool:
    """The cohort's trainer logs attendance and visits."""
    return user.is_authenticated and cohort.trainer_id == user.pk


def can_organise_cohorts(user: User | AnonymousUser, provider: Partner) -> bool:
    return provider.pk in scope_of(user).provider_staff_ids and can_act_for_partner(user, provider)


def can_see_kpi_detail(user: User | AnonymousUser, enrolment: Enrolment) -> bool:
    """KPI data belongs to the factory: its people, its trainer and the ILO see each reading."""
    scope = scope_of(user)
    return (
        scope.sees_everything
        or enrolment.factory_id in scope.factory_ids
        or (enrolment.cohort is not None and enrolment.cohort.trainer_id == user.pk)
        or (enrolment.cohort is not None and enrolment.cohort.provider_id in scope.provider_ids)
    )


def can_manage_certificates(user: User | AnonymousUser) -> bool:
    """ILO admins and staff revoke and reissue certificates."""
    return scope_of(user).is_ilo_decider


def can_export_supplier_lists(user: User | AnonymousUser) -> bool:
    """Brand people export their own brands' supplier lists; the ILO exports every list."""
    scope = scope_of(user)
    return scope.sees_everything or bool(scope.funding_ids)


def can_download_certificates_zip(user: User | AnonymousUser) -> bool:
    """Brand staff (and the ILO) download their suppliers' certificates in one ZIP."""
    scope = scope_of(user)
    return scope.sees_everything or bool(scope.funding_ids)


def can_withdraw_enrolment(user: User | AnonymousUser, enrolment: Enrolment) -> bool:
    """The funding partner's acting people, or ILO admins, withdraw an enrolment."""
    return scope_of(user).is_ilo_decider or can_act_for_partner(user, enrolment.partnership.partner)
