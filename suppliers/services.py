"""Writes about factories and brands' supplier lists."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from partners.models import Partner
from score_portal.permissions import forget_scope
from suppliers.models import BrandSupplier, Factory, FactoryManager

if TYPE_CHECKING:
    from score_portal.models import User


class SupplierError(Exception):
    """A rule about suppliers was broken; the message is for the person who tried."""


def link_supplier(*, brand: Partner, factory: Factory, supplier_code: str = "") -> BrandSupplier:
    """Put ``factory`` on ``brand``'s supplier list with the brand's own code for it."""
    if not brand.is_funding:
        raise SupplierError(f"{brand} is not a brand or initiative, so it keeps no supplier list.")
    supplier_code = supplier_code.strip()
    try:
        with transaction.atomic():
            link, _ = BrandSupplier.objects.update_or_create(
                brand=brand, factory=factory, defaults={"supplier_code": supplier_code}
            )
    except IntegrityError:
        raise SupplierError(
            f"Supplier code {supplier_code!r} is already used for another factory on "
            f"{brand}'s list."
        ) from None
    return link


def add_factory_manager(*, factory: Factory, user: User) -> FactoryManager:
    """Let ``user`` answer for ``factory``: confirm enrolments, name participants, record KPIs."""
    manager, _ = FactoryManager.objects.get_or_create(factory=factory, user=user)
    forget_scope(user)
    return manager
