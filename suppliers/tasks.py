"""Supplier-list imports in the background: thin tasks around the services."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from score_portal import jobs
from suppliers import duplicates, services
from suppliers.importing import writing
from suppliers.models import Factory

logger = logging.getLogger(__name__)

# A task still running two minutes before its claim goes stale (JOB_STALE_MINUTES) is stopped
# (soft limit: the import fails with a message; hard limit a minute later: the worker child
# is killed), so a live worker never holds an import the sweep has handed to another.


@shared_task(acks_late=True, soft_time_limit=jobs.soft_time_limit(), time_limit=jobs.time_limit())
def analyse_supplier_import(import_id: int) -> bool:
    """Read an uploaded list into its preview; safe to run twice (the import is claimed)."""
    return services.analyse_import(import_id=import_id, notify=True)


@shared_task(acks_late=True, soft_time_limit=jobs.soft_time_limit(), time_limit=jobs.time_limit())
def write_supplier_import(import_id: int) -> bool:
    """Write a confirmed list in one transaction; safe to run twice (the import is claimed)."""
    return services.write_import(import_id=import_id, notify=True)


@shared_task
def import_given_up(import_id: int) -> bool:
    """Run in-process by the job sweep after it gave an import up: tell the person."""
    return services.import_given_up(import_id=import_id)


@shared_task
def refresh_statistics(rows_written: int) -> bool:
    """After a large import commits: the planner's statistics of the supplier tables. Only
    an optimisation (autovacuum analyses them a little later anyway): a failure is logged,
    never retried."""
    try:
        return writing.refresh_statistics(rows_written)
    except DatabaseError:
        logger.warning("Could not analyse the supplier tables after an import", exc_info=True)
        return False


@shared_task(acks_late=True)
def find_duplicate_factories(country: str | None = None) -> int:
    """Nightly (Celery beat), or when an ILO admin asks: the registry's likely duplicates,
    per country, into the ILO's queue; safe to run twice (pairs are upserted)."""
    return duplicates.find_duplicates(country=country)


@shared_task(acks_late=True)
def refresh_search_keys() -> int:
    """After an import commits, and every few minutes (Celery beat) for one whose task was
    lost with the broker: the search keys of the factories it wrote in SQL."""
    return Factory.objects.refresh_blank_search_keys()
