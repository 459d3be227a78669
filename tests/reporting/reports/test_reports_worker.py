"""A large results report through the real path: Redis, a separate Celery worker process,
PostgreSQL (runs with CELERY_LIVE_WORKER=1, as .ci/run sets)."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from reporting import reports
from reporting.models import ResultsReport
from reporting.tasks import render_results_report
from score_portal.models import OutboundEmail
from tests.conftest import wait_for
from tests.reporting.reports.conftest import PERIOD_END, PERIOD_START

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_live_worker_renders_the_report_and_emails_it_once(
    live_worker, catalogue, programme, brand_staff
):
    report = reports.request_results_report(
        partnership=programme.partnership,
        actor=brand_staff,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        fmt="pdf",
        language="en",
    )

    def ready():
        report.refresh_from_db()
        return report.status == ResultsReport.Status.READY

    assert wait_for(ready, timeout=90), f"still {report.status}: {report.last_error}"
    with default_storage.open(report.file.name, "rb") as stored:
        assert stored.read(5) == b"%PDF-"
    assert wait_for(
        lambda: OutboundEmail.objects.filter(
            template="results_report_ready", status=OutboundEmail.Status.SENT
        ).exists()
    )
    # A duplicate task (a redelivered message) changes nothing.
    render_results_report.delay(report.pk)
    wait_for(lambda: False, timeout=2)
    report.refresh_from_db()
    assert report.attempts == 1
    assert OutboundEmail.objects.filter(template="results_report_ready").count() == 1
