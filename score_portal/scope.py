"""What a signed-in person can reach: their scope, built once per request from plain ids.

This is the bottom of the house: it imports no app. The words it shares with the apps (the
kinds of organisation, the roles in one) are defined here and used by ``partners.models``;
the rows a scope is built from come from the apps themselves, which register a *scope
source* in their ``AppConfig.ready`` (memberships, managed factories, trained cohorts). The
sources are read in one round trip, a UNION ALL compiled once per database.

``score_portal.access`` asks the questions ("may this person do this?") that need only a
scope and ids; ``request.scope`` (``ScopeMiddleware``) is the scope of the request's user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from django.db import connections, router
from django.db.models import CharField, Model, QuerySet, TextChoices, Value
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _


class PartnerKind(TextChoices):
    """The kinds of organisation working with the ILO (``Partner.Kind``)."""

    ILO = "ilo", _("ILO")
    BRAND = "brand", _("Brand / buyer")
    SERVICE_PROVIDER = "service_provider", _("Service provider")
    INITIATIVE = "initiative", _("Multi-stakeholder initiative")


# Brands and initiatives fund their (members') suppliers: they hold supplier lists.
FUNDING_KINDS = (PartnerKind.BRAND, PartnerKind.INITIATIVE)


class MemberRole(TextChoices):
    """A person's role in an organisation (``Membership.Role``)."""

    ADMIN = "admin", _("Administrator")  # acts, and manages the organisation's people
    STAFF = "staff", _("Staff")  # acts: imports, enrols, applies, decides (ILO)
    VIEWER = "viewer", _("Viewer")  # reads only
    TRAINER = "trainer", _("Trainer")  # service providers only: delivers cohorts


ACTING_ROLES = (MemberRole.ADMIN, MemberRole.STAFF)


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
    """Everything a user can reach, as plain ids (one small query per request)."""

    user_id: int | None = None
    is_superuser: bool = False
    is_staff: bool = False
    ilo_roles: frozenset[str] = frozenset()
    # partner id -> role, split by the partner's kind
    funding_roles: dict[int, str] = field(default_factory=dict)  # brands and initiatives
    provider_roles: dict[int, str] = field(default_factory=dict)  # service providers
    factory_ids: frozenset[int] = frozenset()
    # Cohorts the user delivers as their trainer: their enrolments are within reach.
    trained_cohort_ids: frozenset[int] = frozenset()
    # Providers whose cohorts this scope delivers for their trainers: only an acting API key
    # of a service provider (the provider's training-records system records attendance,
    # visits and KPI readings as its trainers do on the pages). A person's scope has none.
    delivering_provider_ids: frozenset[int] = frozenset()

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

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
        return self.is_superuser or bool(self.ilo_roles & set(ACTING_ROLES))

    @property
    def funding_ids(self) -> frozenset[int]:
        return frozenset(self.funding_roles)

    @property
    def funding_acting_ids(self) -> frozenset[int]:
        return frozenset(p for p, r in self.funding_roles.items() if r in ACTING_ROLES)

    @property
    def provider_ids(self) -> frozenset[int]:
        return frozenset(self.provider_roles)

    @property
    def provider_acting_ids(self) -> frozenset[int]:
        return frozenset(p for p, r in self.provider_roles.items() if r in ACTING_ROLES)

    @property
    def provider_staff_ids(self) -> frozenset[int]:
        """Providers where the user organises cohorts (not merely delivers them)."""
        return frozenset(p for p, r in self.provider_roles.items() if r != MemberRole.TRAINER)

    @property
    def is_trainer(self) -> bool:
        return MemberRole.TRAINER in self.provider_roles.values()

    @property
    def partner_ids(self) -> frozenset[int]:
        return self.funding_ids | self.provider_ids

    def role_in(self, partner_id: int) -> str | None:
        """The user's role in a (non-ILO) organisation, or None."""
        return self.funding_roles.get(partner_id) or self.provider_roles.get(partner_id)

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


ANONYMOUS = Scope()

# --- Building a scope from the apps' rows ------------------------------------------------

# Tags of the rows that are not memberships (a membership row carries its partner's kind).
MANAGED_FACTORY = "~factory"
TRAINED_COHORT = "~cohort"

# A source: given a user id, a query of (object id, partner kind or tag, role) rows.
ScopeSource = Callable[[int], QuerySet[Any]]
_sources: dict[str, ScopeSource] = {}


def register_scope_source(name: str, source: ScopeSource) -> None:
    """An app adds rows to every scope (call from ``AppConfig.ready``; idempotent by name)."""
    _sources[name] = source
    _scope_query.cache_clear()


def tagged(queryset: QuerySet[Any], id_field: str, tag: str) -> QuerySet[Any]:
    """Rows shaped like a membership's (object id, tag, no role), for a scope source."""
    return (
        queryset.order_by()
        .annotate(
            scope_tag=Value(tag, output_field=CharField()),
            no_role=Value("", output_field=CharField()),
        )
        .values_list(id_field, "scope_tag", "no_role")
    )


# A user id no row has, standing for the real one in the query compiled once.
_ANY_USER = -7_391_204_583


@cache
def _scope_query(alias: str) -> tuple[str, tuple[Any, ...]]:
    """The sources as one UNION ALL, compiled once per database.

    It runs on every signed-in request, and building and compiling a three-part union
    through the ORM cost about three times what PostgreSQL takes to answer it.
    """
    first, *others = (source(_ANY_USER).using(alias) for _name, source in sorted(_sources.items()))
    union = first.union(*others, all=True) if others else first
    sql, params = union.query.get_compiler(using=alias).as_sql()
    return sql, tuple(params)


def _scope_rows(user: Model) -> list[tuple[int, str, str]]:
    alias = router.db_for_read(type(user))
    sql, params = _scope_query(alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [user.pk if p == _ANY_USER else p for p in params])
        return cursor.fetchall()


def scope_of(user: Any) -> Scope:
    """The user's scope, cached on the user object for the rest of the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    cached: Scope | None = getattr(user, "_score_scope", None)
    if cached is not None:
        return cached
    ilo_roles: set[str] = set()
    funding: dict[int, str] = {}
    providers: dict[int, str] = {}
    factory_ids: set[int] = set()
    cohort_ids: set[int] = set()
    for object_id, kind, role in _scope_rows(user):
        if kind == MANAGED_FACTORY:
            factory_ids.add(object_id)
        elif kind == TRAINED_COHORT:
            cohort_ids.add(object_id)
        elif kind == PartnerKind.ILO:
            ilo_roles.add(role)
        elif kind in FUNDING_KINDS:
            funding[object_id] = role
        elif kind == PartnerKind.SERVICE_PROVIDER:
            providers[object_id] = role
    scope = Scope(
        user_id=user.pk,
        is_superuser=user.is_superuser,
        is_staff=user.is_staff,
        ilo_roles=frozenset(ilo_roles),
        funding_roles=funding,
        provider_roles=providers,
        factory_ids=frozenset(factory_ids),
        trained_cohort_ids=frozenset(cohort_ids),
    )
    user._score_scope = scope
    return scope


def organisation_scope(*, partner_id: int, kind: str, acting: bool) -> Scope:
    """The scope of an organisation's API key: that organisation alone, as its staff
    (``acting``) or as a viewer; no person's own reach (no managed factory, no cohort one
    trains, not a superuser), so ``user_id`` is None."""
    role = MemberRole.STAFF if acting else MemberRole.VIEWER
    if kind == PartnerKind.ILO:
        return Scope(ilo_roles=frozenset({role}))
    if kind in FUNDING_KINDS:
        return Scope(funding_roles={partner_id: role})
    if kind == PartnerKind.SERVICE_PROVIDER:
        return Scope(
            provider_roles={partner_id: role},
            delivering_provider_ids=frozenset({partner_id}) if acting else frozenset(),
        )
    return ANONYMOUS


def assume_scope(user: Any, scope: Scope) -> None:
    """Make ``scope`` the user's scope for the rest of the request: an API key acts in its
    creator's name (the audit trail names them) with its organisation's scope alone, and
    the services, which ask ``scope_of(actor)``, then decide with the key's scope."""
    user._score_scope = scope


def forget_scope(user: Any) -> None:
    """Drop the cached scope after the user's memberships changed in this request."""
    if hasattr(user, "_score_scope"):
        del user._score_scope


class ScopeMiddleware:
    """Sets ``request.scope``: the signed-in user's scope, read on first use."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.scope = SimpleLazyObject(  # type: ignore[attr-defined]
            lambda: scope_of(getattr(request, "user", None))
        )
        return self.get_response(request)
