"""Request ids through logs and tasks, JSON logs, Sentry only with a DSN, Prometheus metrics."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from celery import shared_task
from django.http import HttpResponse
from django.urls import path, reverse
from prometheus_client import REGISTRY

from score_portal import observability
from score_portal.celery import app as celery_app
from score_portal.models import OutboundEmail
from score_portal.tasks import beat_heartbeat
from tests.conftest import _reset_broker_pools, client_for, wait_for
from training.models import Certificate

ROOT = Path(__file__).resolve().parents[2]
task_logger = logging.getLogger("tests.observability.task")


@shared_task
def log_from_a_task() -> None:
    task_logger.info("work done in a task")


def queue_a_task(request):
    logging.getLogger("tests.observability.view").info("queueing")
    log_from_a_task.delay()
    return HttpResponse("queued")


urlpatterns = [path("queue/", queue_a_task)]


@pytest.fixture
def request_ids(caplog):
    """caplog with the request-id filter LOGGING puts on the console handler."""
    caplog.handler.addFilter(observability.RequestIdFilter())
    caplog.set_level(logging.INFO)
    return caplog


# --- Request id -------------------------------------------------------------------------------


def test_each_response_carries_a_new_request_id(db):
    client = client_for(None)
    first = client.get("/")["X-Request-ID"]
    second = client.get("/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("abc-123_DEF.9", True),
        ("x" * 64, True),
        ("x" * 65, False),  # too long
        ("a b", False),
        ("id\r\nX-Injected: 1", False),
        ("ünïcode", False),
        ("", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_if_short_and_plain(db, incoming, kept):
    answered = client_for(None).get("/", HTTP_X_REQUEST_ID=incoming)["X-Request-ID"]
    assert (answered == incoming) is kept
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", answered)


@pytest.mark.urls(__name__)
def test_the_request_id_is_in_the_logs_of_the_request_and_of_the_task_it_queued(db, request_ids):
    response = client_for(None).get("/queue/", HTTP_X_REQUEST_ID="req-42")
    assert response["X-Request-ID"] == "req-42"
    view_record = next(r for r in request_ids.records if r.name == "tests.observability.view")
    task_record = next(r for r in request_ids.records if r.name == "tests.observability.task")
    assert view_record.request_id == "req-42"
    assert task_record.request_id == "req-42"
    assert task_record.task_name == log_from_a_task.name
    # After the response, a log line belongs to no request.
    task_logger.info("between requests")
    assert request_ids.records[-1].request_id == observability.NO_REQUEST_ID


def test_an_error_answer_logged_by_django_carries_the_request_id(db, request_ids):
    client_for(None).get("/no-such-page/", HTTP_X_REQUEST_ID="req-404")
    [record] = [r for r in request_ids.records if r.name == "django.request"]
    assert record.request_id == "req-404"


@pytest.fixture
def memory_broker():
    """Tasks really published, to Celery's in-process memory transport."""
    previous = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url = "memory://"
    celery_app.conf.task_always_eager = False
    _reset_broker_pools()
    yield
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = previous
    _reset_broker_pools()


def test_a_published_task_carries_the_request_id_in_its_headers(memory_broker):
    token = observability.request_id_var.set("req-published")
    try:
        beat_heartbeat.apply_async(queue="score-test-request-id")
    finally:
        observability.request_id_var.reset(token)
    beat_heartbeat.apply_async(queue="score-test-request-id")  # outside a request
    with celery_app.connection_for_read() as connection:
        queue = connection.SimpleQueue("score-test-request-id")
        first, second = queue.get(timeout=1), queue.get(timeout=1)
        queue.close()
    assert first.headers["request_id"] == "req-published"
    assert "request_id" not in second.headers


def test_a_worker_runs_a_task_under_the_request_id_of_its_headers(request_ids):
    result = log_from_a_task.apply(headers={"request_id": "req-from-header"})
    assert result.successful()
    record = next(r for r in request_ids.records if r.name == "tests.observability.task")
    assert record.request_id == "req-from-header"
    assert observability.current_request_id() is None  # reset when the task ended


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_live_workers_log_carries_the_id_of_the_request_that_queued_the_email(
    live_worker, brand_staff
):
    log = live_worker.outbox_dir.parent / "worker.log"
    response = client_for(None).post(
        reverse("account_reset_password"),
        {"email": brand_staff.email},
        HTTP_X_REQUEST_ID="req-reset-password",
    )
    assert response.status_code == 302
    email = OutboundEmail.objects.get(to=brand_staff.email)

    def logged():
        return [
            line
            for line in log.read_text().splitlines()
            if "[req-reset-password]" in line and " succeeded in " in line
        ]

    assert wait_for(logged), log.read_text()[-3000:]
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT


# --- Logs and Sentry, as a fresh process reads its settings -------------------------------


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SENTRY_", "LOG_", "PROMETHEUS_", "DJANGO_SETTINGS"))
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="score_portal.settings")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


LOG_A_LINE = """
    import logging, django
    django.setup()
    from score_portal.observability import request_id_var
    request_id_var.set("req-json")
    logging.getLogger("score_portal.test").warning("disk %s full", "nearly")
"""


def test_log_format_json_writes_one_object_per_line_with_the_request_id():
    result = _python(LOG_A_LINE, LOG_FORMAT="json")
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "score_portal.test" in line]
    record = json.loads(line)
    assert record["message"] == "disk nearly full"
    assert record["level"] == "WARNING"
    assert record["logger"] == "score_portal.test"
    assert record["request_id"] == "req-json"
    assert "time" in record


def test_plain_logs_in_development():
    result = _python(LOG_A_LINE)
    assert result.returncode == 0, result.stderr
    assert "WARNING/MainProcess] score_portal.test [req-json]: disk nearly full" in result.stderr


SENTRY_STATE = """
    import json, django
    django.setup()
    import sentry_sdk
    client = sentry_sdk.get_client()
    print(json.dumps({
        "active": client.is_active(),
        "environment": client.options.get("environment"),
        "release": client.options.get("release"),
        "pii": client.options.get("send_default_pii"),
        "traces": client.options.get("traces_sample_rate"),
    }))
"""


def test_sentry_stays_off_without_a_dsn():
    result = _python(SENTRY_STATE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["active"] is False


def test_sentry_reports_with_a_dsn_without_personal_data_or_traces():
    # Nothing listens there, and nothing is captured: no event is sent.
    dsn = "http://public@127.0.0.1:9/1"
    result = _python(SENTRY_STATE, SENTRY_DSN=dsn, SENTRY_RELEASE="score@1.2.3")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "active": True,
        "environment": "development",
        "release": "score@1.2.3",
        "pii": False,
        "traces": None,
    }
    traced = _python(SENTRY_STATE, SENTRY_DSN=dsn, SENTRY_TRACES_SAMPLE_RATE="0.2")
    assert json.loads(traced.stdout)["traces"] == 0.2


def test_a_bad_traces_rate_stops_the_process():
    result = _python(SENTRY_STATE, SENTRY_TRACES_SAMPLE_RATE="2")
    assert result.returncode != 0
    assert "SENTRY_TRACES_SAMPLE_RATE=2.0 must be between 0 and 1" in result.stderr


# --- Metrics ----------------------------------------------------------------------------------

TOKEN = "m" * 40


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def _scrape(client=None, token: str | None = TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return (client or client_for(None)).get(reverse("metrics"), **headers)


def test_metrics_need_the_token_or_an_ilo_decider(db, metrics_token, ilo_admin, brand_staff):
    assert _scrape(token=None).status_code == 404
    assert _scrape(token="m" * 39 + "x").status_code == 404
    assert _scrape(client_for(brand_staff), token=None).status_code == 404
    assert _scrape().status_code == 200
    assert _scrape(client_for(ilo_admin), token=None).status_code == 200


def test_no_token_configured_lets_no_token_in(db, settings):
    settings.METRICS_TOKEN = ""
    assert _scrape(token="").status_code == 404
    assert client_for(None).get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer ").status_code == 404


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_are_counted_by_view_method_and_status(db, metrics_token):
    labels = {"view": "home", "method": "GET", "status": "200"}
    before = _sample("score_http_requests_total", **labels)
    timed = _sample("score_http_request_duration_seconds_count", view="home", method="GET")
    unresolved = _sample(
        "score_http_requests_total", view="<unresolved>", method="GET", status="404"
    )
    client = client_for(None)
    client.get("/")
    client.get("/no-such-page/")
    assert _sample("score_http_requests_total", **labels) == before + 1
    assert _sample("score_http_request_duration_seconds_count", view="home", method="GET") == (
        timed + 1
    )
    assert _sample(
        "score_http_requests_total", view="<unresolved>", method="GET", status="404"
    ) == (unresolved + 1)
    body = _scrape().text
    assert 'score_http_requests_total{method="GET",status="200",view="home"}' in body


def test_tasks_are_counted_by_outcome_and_timed(db):
    task = beat_heartbeat.name
    before = _sample("score_celery_tasks_total", task=task, outcome="success")
    timed = _sample("score_celery_task_duration_seconds_count", task=task)
    beat_heartbeat.delay()
    assert _sample("score_celery_tasks_total", task=task, outcome="success") == before + 1
    assert _sample("score_celery_task_duration_seconds_count", task=task) == timed + 1


def test_backlog_gauges_are_read_from_the_database_at_scrape_time(db, metrics_token, world):
    for status in ("queued", "queued", "failed"):
        OutboundEmail.objects.create(
            to="x@example.org", subject="s", body_text="b", template="t", language="en",
            status=status,
        )  # fmt: skip
    Certificate.objects.create(enrolment=world.enrolment, last_error="font missing")
    body = _scrape().text
    assert 'score_outbox_emails{status="queued"} 2.0' in body
    assert 'score_outbox_emails{status="failed"} 1.0' in body
    assert 'score_outbox_emails{status="sending"} 0.0' in body
    # The world's two imports were just uploaded: a worker has to read them.
    assert 'score_supplier_imports_working{status="uploaded"} 2.0' in body
    assert 'score_certificates_pending{state="failing"} 1.0' in body


COUNT_A_REQUEST = """
    import django
    django.setup()
    from score_portal.observability import HTTP_REQUESTS
    HTTP_REQUESTS.labels("home", "GET", "200").inc()
"""

RENDER = """
    import django
    django.setup()
    from score_portal.observability import render_metrics
    print(render_metrics([]).decode())
"""


def test_multiprocess_mode_adds_up_every_process(tmp_path):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two gunicorn or Celery processes
        assert _python(COUNT_A_REQUEST, **env).returncode == 0
    result = _python(RENDER, **env)
    assert result.returncode == 0, result.stderr
    assert 'score_http_requests_total{method="GET",status="200",view="home"} 2.0' in result.stdout
