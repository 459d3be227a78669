"""Supplier-list imports in the background: thin tasks around the services."""

from __future__ import annotations

from celery import shared_task

from suppliers import services


@shared_task(acks_late=True)
def analyse_supplier_import(import_id: int) -> bool:
    """Read an uploaded list into its preview; safe to run twice (the import is claimed)."""
    return services.analyse_import(import_id=import_id, notify=True)


@shared_task(acks_late=True)
def write_supplier_import(import_id: int) -> bool:
    """Write a confirmed list in one transaction; safe to run twice (the import is claimed)."""
    return services.write_import(import_id=import_id, notify=True)
