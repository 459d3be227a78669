"""Training tasks: thin wrappers that take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from score_portal import jobs
from training.services import certificates, enrolment


@shared_task(acks_late=True)
def send_classroom_reminders() -> int:
    """Daily (Celery beat): remind factories of a classroom in the next few days, once each."""
    return enrolment.send_classroom_reminders()


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=15,
    retry_backoff_max=600,
    max_retries=settings.JOB_MAX_ATTEMPTS - 1,
    soft_time_limit=jobs.soft_time_limit(),
    time_limit=jobs.time_limit(),
)
def render_certificate(self, certificate_id: int) -> bool:  # type: ignore[no-untyped-def]
    """Render and issue one certificate; safe to run twice (the row is claimed first).
    Failures are recorded on the certificate and retried with backoff."""
    return certificates.render_certificate(certificate_id=certificate_id)
