"""Reporting tasks: thin wrappers that take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from reporting import reports
from reporting.models import ResultsReport
from score_portal import jobs


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=15,
    retry_backoff_max=600,
    max_retries=settings.JOB_MAX_ATTEMPTS - 1,
    soft_time_limit=jobs.soft_time_limit(ResultsReport),
    time_limit=jobs.time_limit(ResultsReport),
)
def render_results_report(self, report_id: int) -> bool:  # type: ignore[no-untyped-def]
    """Render and store one results report; safe to run twice (the row is claimed first).
    Failures are recorded on the report and retried with backoff."""
    return reports.render_results_report(report_id=report_id)
