"""Training tasks: thin wrappers that take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task

from training.services import enrolment


@shared_task(acks_late=True)
def send_classroom_reminders() -> int:
    """Daily (Celery beat): remind factories of a classroom in the next few days, once each."""
    return enrolment.send_classroom_reminders()
