"""Platform tasks: delivering the outbox, sweeping it for what got stuck, beat's heartbeat."""

from __future__ import annotations

import smtplib
from typing import Any

from celery import shared_task
from celery.signals import task_postrun
from django.db import close_old_connections

from score_portal import emails, health


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def deliver_email(self, email_id: int) -> bool:  # type: ignore[no-untyped-def]
    """Send one outbound email; safe to run twice (the row is claimed first)."""
    return emails.deliver(email_id)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=emails.TRANSIENT_ERRORS,
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def deliver_emails(self, email_ids: list[int]) -> int:  # type: ignore[no-untyped-def]
    """Send a batch of outbound emails written in one transaction; safe to run twice."""
    return emails.deliver_many(email_ids)


@shared_task(acks_late=True)
def sweep_outbox() -> int:
    """Every minute (Celery beat): queue again the emails that are stuck; safe to run twice."""
    return emails.sweep()


@shared_task
def beat_heartbeat() -> None:
    """Every minute (Celery beat): note that beat, the broker and a worker all work; readiness
    says beat is late when the note is old (HEALTH_BEAT_LATE_MINUTES)."""
    health.record_heartbeat()


@task_postrun.connect
def _close_broken_connections(sender: Any = None, **kwargs: Any) -> None:
    """What Django does after each request: drop a broken or obsolete database connection
    (Celery itself keeps it for CELERY_DB_REUSE_MAX tasks). Not for in-process runs, which
    share the caller's connection and transaction."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()
