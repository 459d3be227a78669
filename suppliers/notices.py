"""Suppliers' kinds of notice (score_portal.notices): supplier lists and factory records."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from score_portal.notices import register_kind

register_kind(
    "supplier_import_done",
    label=_("Supplier lists imported"),
    templates=["supplier_import_done"],
    audience=lambda scope: bool(scope.funding_ids),
    order=20,
)
register_kind(
    "factory_merged",
    label=_("Factory records merged"),
    templates=["factory_merged"],
    audience=lambda scope: bool(scope.funding_ids),
    order=21,
)
