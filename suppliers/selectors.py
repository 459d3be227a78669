"""Reads about factories, supplier lists and imports, scoped to the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from score_portal.scope import Scope
from suppliers.models import (
    BrandSupplier,
    Factory,
    FactoryAlias,
    SupplierImport,
    SupplierImportRow,
)

if TYPE_CHECKING:
    from score_portal.models import User


def factories_managed_by(user: User) -> QuerySet[Factory]:
    return Factory.objects.filter(managers__user=user).order_by("name")


def brand_codes_for(scope: Scope, factory: Factory) -> QuerySet[BrandSupplier]:
    """The brand links of one factory that the user may see (never another brand's codes)."""
    return BrandSupplier.objects.visible_to(scope).filter(factory=factory).select_related("brand")


def recent_imports(scope: Scope, limit: int = 5) -> QuerySet[SupplierImport]:
    return (
        SupplierImport.objects.visible_to(scope)
        .select_related("brand", "uploaded_by")
        .order_by("-created_at")[:limit]
    )


def import_rows(
    supplier_import: SupplierImport, *, outcome: str = ""
) -> QuerySet[SupplierImportRow]:
    """An import's preview rows, with the factory each matched (one query per page)."""
    rows = SupplierImportRow.objects.filter(supplier_import=supplier_import)
    if outcome:
        rows = rows.filter(outcome=outcome)
    return rows.select_related("factory", "candidate").order_by("line")


def alias_reach(scope: Scope) -> Q:
    """Names, OS IDs and registration numbers are the factory's, seen with it; a supplier
    code is its brand's own, seen by that brand (and the ILO) only."""
    if scope.sees_everything:
        return Q()
    return ~Q(kind=FactoryAlias.Kind.SUPPLIER_CODE) | Q(brand_id__in=scope.funding_ids)


def visible_aliases(scope: Scope, factory: Factory) -> QuerySet[FactoryAlias]:
    """What the factory was also known by, as far as the user may see it."""
    return (
        FactoryAlias.objects.filter(factory=factory)
        .filter(alias_reach(scope))
        .select_related("brand")
        .order_by("kind", "value")
    )
