"""Platform tasks: delivering the outbox, the sweep of every kind of background job, beat's
heartbeat, the daily digest of notices."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import task_postrun
from django.conf import settings
from django.db import close_old_connections

from score_portal import digests, emails, health, jobs
from score_portal.models import OutboundEmail


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=emails.TRANSIENT_ERRORS,
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=settings.JOB_MAX_ATTEMPTS - 1,
    soft_time_limit=jobs.soft_time_limit(OutboundEmail),
    time_limit=jobs.time_limit(OutboundEmail),
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
    max_retries=settings.JOB_MAX_ATTEMPTS - 1,
    soft_time_limit=jobs.soft_time_limit(OutboundEmail),
    time_limit=jobs.time_limit(OutboundEmail),
)
def deliver_emails(self, email_ids: list[int]) -> int:  # type: ignore[no-untyped-def]
    """Send a batch of outbound emails written in one transaction; safe to run twice."""
    return emails.deliver_many(email_ids)


@shared_task(acks_late=True)
def sweep_jobs() -> int:
    """Every minute (Celery beat): hand back what dead workers held, give up what used its
    attempts, and queue again every email, render and import whose turn has come (a broker
    outage, a lost task); safe to run twice."""
    return jobs.sweep()


@shared_task
def beat_heartbeat() -> None:
    """Every minute (Celery beat): note that beat, the broker and a worker all work; readiness
    says beat is late when the note is old (HEALTH_BEAT_LATE_MINUTES)."""
    health.record_heartbeat()


@shared_task(acks_late=True)
def send_notice_digests() -> int:
    """Every hour (Celery beat): each person's daily digest of notices, once their morning
    has come; safe to run twice (a person's day is claimed before their digest is queued)."""
    return digests.send_daily_digests()


@task_postrun.connect
def _close_broken_connections(sender: Any = None, **kwargs: Any) -> None:
    """What Django does after each request: drop a broken or obsolete database connection
    (Celery itself keeps it for CELERY_DB_REUSE_MAX tasks). Not for in-process runs, which
    share the caller's connection and transaction."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()
