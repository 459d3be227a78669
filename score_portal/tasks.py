"""Platform tasks: delivering the outbox, and sweeping it for what got stuck."""

from __future__ import annotations

import smtplib

from celery import shared_task

from score_portal import emails


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


@shared_task(acks_late=True)
def sweep_outbox() -> int:
    """Every minute (Celery beat): queue again the emails that are stuck; safe to run twice."""
    return emails.sweep()
