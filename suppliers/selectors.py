"""Reads about factories, supplier lists and imports, scoped to the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from suppliers.models import BrandSupplier, Factory, SupplierImport, SupplierImportRow

if TYPE_CHECKING:
    from score_portal.models import User


def factories_managed_by(user: User) -> QuerySet[Factory]:
    return Factory.objects.filter(managers__user=user).order_by("name")


def brand_codes_for(user: User, factory: Factory) -> QuerySet[BrandSupplier]:
    """The brand links of one factory that the user may see (never another brand's codes)."""
    return BrandSupplier.objects.visible_to(user).filter(factory=factory).select_related("brand")


def recent_imports(user: User, limit: int = 5) -> QuerySet[SupplierImport]:
    return (
        SupplierImport.objects.visible_to(user)
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
