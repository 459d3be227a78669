"""Supplier-list imports in the background: thin tasks around the services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from suppliers import services

# A task still running this close to SUPPLIER_IMPORT_STALE_MINUTES is stopped (soft limit:
# the import fails with a message; hard limit a minute later: the worker child is killed),
# so a live worker never holds an import the sweep has handed to another.
SOFT_TIME_LIMIT = settings.SUPPLIER_IMPORT_STALE_MINUTES * 60 - 120
TIME_LIMIT = settings.SUPPLIER_IMPORT_STALE_MINUTES * 60 - 60


@shared_task(acks_late=True, soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def analyse_supplier_import(import_id: int) -> bool:
    """Read an uploaded list into its preview; safe to run twice (the import is claimed)."""
    return services.analyse_import(import_id=import_id, notify=True)


@shared_task(acks_late=True, soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT)
def write_supplier_import(import_id: int) -> bool:
    """Write a confirmed list in one transaction; safe to run twice (the import is claimed)."""
    return services.write_import(import_id=import_id, notify=True)


@shared_task(acks_late=True)
def sweep_supplier_imports() -> int:
    """Every two minutes (Celery beat): imports left by a dead worker or a broker outage are
    queued again; safe to run twice."""
    return services.sweep_imports()
