"""Reporting tasks: thin wrappers that take ids, call a service, and are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from reporting import reports, rollups
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


@shared_task(acks_late=True, soft_time_limit=30 * 60, time_limit=31 * 60)
def refresh_results() -> int:
    """Count the unfiltered results dashboards again (beat, every half of their freshness);
    safe to run twice (a second run only counts the same figures again)."""
    return rollups.refresh_unfiltered()
