"""Webhook tasks: thin wrappers that take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from score_portal import jobs
from webhooks import services
from webhooks.models import Delivery


@shared_task(
    acks_late=True,
    soft_time_limit=jobs.soft_time_limit(Delivery),
    time_limit=jobs.time_limit(Delivery),
)
def deliver_webhook(delivery_id: int) -> bool:
    """Post one webhook delivery; safe to run twice (the row is claimed first). A failed
    attempt sets its own next attempt, which the sweep queues (no Celery retry)."""
    return services.deliver(delivery_id=delivery_id)
