"""Liveness, readiness and the health page: what each component reports, and who sees what."""

from __future__ import annotations

import asyncio
import datetime
import socket
from collections.abc import Iterator

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from partners.models import Membership
from score_portal import health
from score_portal.models import OutboundEmail
from score_portal.tasks import beat_heartbeat
from tests.conftest import DEAD_BROKER, _member, client_for

DEAD_REDIS = DEAD_BROKER  # nothing listens on port 1


@pytest.fixture
def frozen_redis() -> Iterator[str]:
    """A server that accepts connections and never answers, as Redis does under SIGSTOP
    (the kernel completes the handshake; nobody reads)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


def _with_redis(settings, url: str) -> None:
    """Settings as with REDIS_URL=url: Redis cache, broker, tasks really published (sessions
    in the database alone: what a signed-in page does without Redis is another test's)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    settings.CELERY_BROKER_URL = url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"


@pytest.fixture
def embedded(settings):
    """The embedded default (no REDIS_URL), whatever the suite runs on."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.CELERY_BROKER_URL = "memory://"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"


def _readiness(client=None, **headers):
    return (client or client_for(None)).get(reverse("health") + "?format=json", **headers)


# --- Liveness -------------------------------------------------------------------------------


def test_liveness_answers_a_container_probe_whatever_the_host_and_scheme(db, settings):
    settings.ALLOWED_HOSTS = ["portal.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    client = client_for(None)
    response = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    # Every other page still goes through the host check and the redirect.
    assert client.get("/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    assert client.get("/", HTTP_HOST="portal.example.org").status_code == 301


def test_liveness_fails_without_the_database(db, monkeypatch):
    class NoDatabase:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", NoDatabase())
    response = client_for(None).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "database unavailable"}


def test_liveness_ignores_redis(db, settings):
    _with_redis(settings, DEAD_REDIS)
    assert client_for(None).get("/healthz").status_code == 200


# --- Readiness ------------------------------------------------------------------------------


def test_readiness_of_the_embedded_default_is_ok_for_anyone_as_json(db, embedded):
    response = _readiness()
    assert response.status_code == 200
    # Without Redis there is no broker, worker or beat to check: tasks run in-process.
    assert response.json() == {
        "status": "ok",
        "components": {
            "database": "ok",
            "cache": "ok",
            "jobs": "ok",
            "storage": "ok",
            "disk": "ok",
        },
    }
    assert "Accept" in response["Vary"]


def test_readiness_json_is_chosen_by_the_accept_header_too(db, embedded):
    response = client_for(None).get(reverse("health"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readiness_says_redis_is_down_and_answers_503(db, settings):
    _with_redis(settings, DEAD_REDIS)
    response = _readiness()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["components"]["cache"] == "failing"
    assert body["components"]["broker"] == "failing"
    assert body["components"]["workers"] == "failing"
    assert body["components"]["database"] == "ok"
    # Only ok/failing: the reason is for the ILO's page.
    assert set(body["components"].values()) <= {"ok", "failing"}
    assert "Redis" not in response.text


def test_a_frozen_redis_is_failing_by_its_socket_timeout_not_hanging(db, settings, frozen_redis):
    _with_redis(settings, frozen_redis)
    outcomes = {o.name: o for o in health.run()}
    assert not outcomes["cache"].ok
    assert "TimeoutError" in str(outcomes["cache"].detail)
    assert not outcomes["broker"].ok
    assert not outcomes["workers"].ok


def test_the_health_page_is_for_ilo_deciders_only(
    db, embedded, ilo, ilo_admin, brand_staff, factory_manager
):
    ilo_viewer = _member(ilo, Membership.Role.VIEWER, "viewer@ilo.example.org")
    url = reverse("health")
    for person in (None, brand_staff, factory_manager, ilo_viewer):
        assert client_for(person).get(url).status_code == 404
    response = client_for(ilo_admin).get(url)
    assert response.status_code == 200
    assert "Portal health" in response.text
    assert "Database" in response.text
    assert "Every component is working." in response.text


def test_the_health_page_says_why_a_component_fails(db, ilo_admin, settings):
    _with_redis(settings, DEAD_REDIS)
    response = client_for(ilo_admin).get(reverse("health"))
    assert response.status_code == 503
    assert "Redis does not answer (ConnectionError)." in response.text
    assert "Some components are failing." in response.text


def test_the_ilo_home_links_to_the_health_page(db, ilo_admin, brand_staff):
    assert reverse("health") in client_for(ilo_admin).get("/").text
    assert reverse("health") not in client_for(brand_staff).get("/").text


# --- Workers, beat, jobs, disk -------------------------------------------------------------


def test_beat_is_late_without_a_recent_heartbeat(db):
    check = health.BeatHeartbeat(late_after=datetime.timedelta(minutes=5))
    with pytest.raises(health.ServiceUnavailable, match="never run"):
        check.run()
    beat_heartbeat.delay()  # what beat queues every minute
    check.run()
    with (
        time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=7)),
        pytest.raises(health.ServiceUnavailable, match="7 minutes ago"),
    ):
        check.run()


def test_the_heartbeat_task_runs_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["beat-heartbeat"]
    assert entry["task"] == beat_heartbeat.name
    assert entry["schedule"] * 2 < settings.HEALTH_BEAT_LATE_MINUTES * 60


def _email(status, **values):
    return OutboundEmail.objects.create(
        to="x@example.org",
        subject="s",
        body_text="b",
        template="t",
        language="en",
        status=status,
        **values,
    )


def test_stuck_jobs_fail_readiness_and_failed_ones_are_only_shown(db, ilo_admin, settings):
    # Failed for good: every attempt used. (One that may still be retried is neither.)
    _email(OutboundEmail.Status.FAILED, attempts=settings.JOB_MAX_ATTEMPTS)
    _email(OutboundEmail.Status.FAILED, attempts=1)
    outcomes = {o.name: o for o in health.run()}
    assert outcomes["jobs"].ok
    assert str(outcomes["jobs"].detail) == "1 job failed for good."

    # Stuck: held by a worker for longer than the stale time (it died).
    long_ago = timezone.now() - datetime.timedelta(minutes=settings.JOB_STALE_MINUTES + 1)
    _email(OutboundEmail.Status.SENDING, claimed_at=long_ago, attempts=1)
    _email(OutboundEmail.Status.SENDING, claimed_at=long_ago, attempts=1)
    _email(OutboundEmail.Status.SENDING, claimed_at=timezone.now(), attempts=1)  # at work
    response = _readiness()
    assert response.status_code == 503
    assert response.json()["components"]["jobs"] == "failing"
    assert "2 jobs are stuck." in client_for(ilo_admin).get(reverse("health")).text


def test_disk_space_below_the_threshold_is_failing(tmp_path):
    health.DiskSpace(path=tmp_path / "not-made-yet", min_free_percent=0).run()
    with pytest.raises(health.ServiceWarning, match="of the disk is free"):
        health.DiskSpace(path=tmp_path, min_free_percent=100.5).run()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_workers_are_ok_when_a_live_worker_reads_the_queue(live_worker, settings):
    workers = next(p for p in health.probes() if p.name == "workers")
    [outcome] = health.run([workers])
    assert outcome.ok, outcome.detail


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_workers_fail_when_no_worker_reads_a_queue(live_worker):
    check = health.Workers()
    check.expected_queues = lambda: {"score-queue-nobody-reads"}  # type: ignore[method-assign]
    with pytest.raises(health.ServiceUnavailable, match="score-queue-nobody-reads"):
        check.run()


# --- The command compose healthchecks run ---------------------------------------------------


def test_the_health_command_checks_what_it_is_asked(db, embedded, settings, capsys):
    call_command("health", "database", "disk")
    assert capsys.readouterr().out.splitlines()[0] == "database: ok"
    with pytest.raises(SystemExit) as unknown:
        call_command("health", "beat")  # no beat in the embedded default
    assert unknown.value.code == 2
    _with_redis(settings, DEAD_REDIS)
    with pytest.raises(SystemExit) as failing:
        call_command("health", "cache")
    assert failing.value.code == 1
    assert "cache: failing" in capsys.readouterr().out


def test_readiness_runs_where_an_event_loop_already_runs(db):
    """An ASGI server, or a test that drove Playwright's sync API, leaves a loop running in
    the thread: the checks then run on a loop of their own in another thread."""
    elsewhere = [p for p in health.probes() if not p.uses_database]
    assert elsewhere

    async def inside_a_loop():
        return health.run(elsewhere)

    outcomes = asyncio.run(inside_a_loop())
    assert [o.name for o in outcomes] == [p.name for p in elsewhere]
