"""Health you can act on: each component of a deployment, checked with a short timeout.

Liveness (``/healthz``, for the load balancer and the web container's healthcheck): this
process answers and reaches its database. Readiness (``/health/``) runs the *probes* below, one per
component, with django-health-check's ``HealthCheck`` classes:

========== ==================================================================================
database   ``SELECT 1`` (django-health-check's ``Database``)
cache      a Redis ``PING`` on the cache's server (1 s connect/read timeout), or a set/get
broker     a Redis ``PING`` on Celery's broker
workers    a Celery broadcast: some worker answers, and every task queue has a reader
beat       the heartbeat beat's periodic task writes to the database is recent
jobs       no background job (score_portal.jobs) is stuck
storage    a file saved, read back and deleted through the default storage
disk       free space where the default (file system) storage keeps its files
========== ==================================================================================

Broker, workers and beat are left out when tasks run in-process (no ``REDIS_URL``). The probes
that use Django's database connection run in the request's thread (they see its data); the
others run side by side, each bounded by its own timeout, so a stopped or frozen Redis makes
the whole answer take about a second, never the client's default of minutes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
import redis.asyncio
from celery import Celery
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from health_check.base import HealthCheck
from health_check.checks import Cache, Database, Storage
from health_check.exceptions import HealthCheckException, ServiceUnavailable, ServiceWarning
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from score_portal import jobs
from score_portal.celery import app as celery_app
from score_portal.models import Heartbeat

BEAT = "beat"
logger = logging.getLogger(__name__)


def _seconds(value: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=value)


def _timeout() -> datetime.timedelta:
    return _seconds(settings.HEALTH_CHECK_TIMEOUT)


# --- Liveness -------------------------------------------------------------------------------

LIVENESS_PATH = "/healthz"


def liveness() -> JsonResponse:
    """Live: this process answers requests and its database answers ``SELECT 1``. Nothing
    else: without Redis, a worker or beat the portal still serves pages, so the load balancer
    keeps sending traffic; readiness (``/health/``) is where those show."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        response = JsonResponse({"status": "database unavailable"}, status=503)
    else:
        response = JsonResponse({"status": "ok"})
    add_never_cache_headers(response)
    return response


class LivenessMiddleware:
    """Answers ``GET /healthz`` before the host check and the HTTPS redirect, so a container
    healthcheck can ask ``http://127.0.0.1:8000/healthz`` whatever ``ALLOWED_HOSTS`` holds
    (the answer says nothing but ok)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == LIVENESS_PATH and request.method in ("GET", "HEAD"):
            return liveness()
        return self.get_response(request)


# --- Beat's heartbeat -------------------------------------------------------------------------


def record_heartbeat(name: str = BEAT) -> None:
    """Write that ``name`` ran just now (beat's periodic heartbeat task calls it). In the
    database, not the cache: it must outlive a Redis outage to tell when beat stopped."""
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": timezone.now()})


def heartbeat_age(name: str = BEAT) -> datetime.timedelta | None:
    """How long ago ``name`` last beat; None if it never did."""
    beat_at = Heartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()
    return None if beat_at is None else timezone.now() - beat_at


# --- Checks ---------------------------------------------------------------------------------


@dataclasses.dataclass
class RedisPing(HealthCheck):
    """A Redis server answers ``PING`` within the timeout (connect and read)."""

    url: str = dataclasses.field(repr=False, default="")
    timeout: datetime.timedelta = dataclasses.field(default_factory=_timeout, repr=False)

    async def run(self) -> None:
        seconds = self.timeout.total_seconds()
        client = redis.asyncio.Redis.from_url(
            self.url,
            socket_timeout=seconds,
            socket_connect_timeout=seconds,
            retry=AsyncRetry(NoBackoff(), 0),
        )
        try:
            await client.ping()
        except (redis.RedisError, OSError) as error:
            raise ServiceUnavailable(
                format_lazy(_("Redis does not answer ({error})."), error=type(error).__name__)
            ) from error
        finally:
            await client.aclose()


def _ping_redis(url: str, seconds: float) -> None:
    """A blocking ``PING`` with the same timeouts (raises ``ServiceUnavailable``)."""
    client = redis.Redis.from_url(
        url, socket_timeout=seconds, socket_connect_timeout=seconds, retry=Retry(NoBackoff(), 0)
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as error:
        raise ServiceUnavailable(_("The broker does not answer.")) from error
    finally:
        client.close()


@dataclasses.dataclass
class Workers(HealthCheck):
    """Some Celery worker answers a broadcast, and every task queue has a worker reading it."""

    app: Celery = dataclasses.field(default_factory=lambda: celery_app, repr=False)
    timeout: datetime.timedelta = dataclasses.field(default_factory=_timeout, repr=False)

    def expected_queues(self) -> set[str]:
        queues = self.app.conf.task_queues
        if queues:
            return {queue.name for queue in queues}
        return {self.app.conf.task_default_queue}

    def run(self) -> None:
        seconds = self.timeout.total_seconds()
        broker = str(self.app.conf.broker_url or "")
        if broker.startswith(("redis://", "rediss://")):
            # A publish retries for as long as the broker is away: ask only when it answers.
            _ping_redis(broker, seconds)
        options = {"socket_timeout": seconds, "socket_connect_timeout": seconds}
        try:
            with self.app.connection_for_write(transport_options=options) as connection:
                inspect = self.app.control.inspect(timeout=seconds, connection=connection)
                replies = inspect.active_queues() or {}
        except OSError as error:
            raise ServiceUnavailable(_("The broker does not answer.")) from error
        if not replies:
            raise ServiceUnavailable(
                format_lazy(_("No worker answered within {seconds:g} s."), seconds=seconds)
            )
        read = {queue["name"] for queues in replies.values() for queue in queues or ()}
        missing = sorted(self.expected_queues() - read)
        if missing:
            raise ServiceUnavailable(
                format_lazy(_("No worker reads the queue(s): {queues}."), queues=", ".join(missing))
            )


@dataclasses.dataclass
class BeatHeartbeat(HealthCheck):
    """Beat's heartbeat task ran within the last ``late_after`` (it runs every minute, so
    a late heartbeat means beat, the broker or every worker is down)."""

    late_after: datetime.timedelta = dataclasses.field(
        default_factory=lambda: datetime.timedelta(minutes=settings.HEALTH_BEAT_LATE_MINUTES),
        repr=False,
    )

    def run(self) -> None:
        try:
            age = heartbeat_age(BEAT)
        except DatabaseError as error:
            raise ServiceUnavailable(_("The heartbeat cannot be read.")) from error
        if age is None:
            raise ServiceUnavailable(_("Beat has never run."))
        if age > self.late_after:
            minutes = int(age.total_seconds() // 60)
            raise ServiceUnavailable(
                format_lazy(
                    ngettext_lazy(
                        "Beat's last heartbeat was {minutes} minute ago.",
                        "Beat's last heartbeat was {minutes} minutes ago.",
                        "minutes",
                    ),
                    minutes=minutes,
                )
            )


@dataclasses.dataclass
class BackgroundJobs(HealthCheck):
    """No background job is stuck. ``count_stuck`` returns how many are (a dead worker's
    claim not yet swept, work never queued); ``count_failed`` how many failed for good,
    which the page shows without failing the check (a person has to look at them)."""

    count_stuck: Callable[[], int] = dataclasses.field(repr=False, default=lambda: 0)
    count_failed: Callable[[], int] | None = dataclasses.field(repr=False, default=None)
    note: str | Promise = dataclasses.field(init=False, repr=False, default="")

    @classmethod
    def of_every_kind(cls) -> BackgroundJobs:
        """The check over every kind of job of the job mechanism (score_portal.jobs)."""
        return cls(
            count_stuck=lambda: sum(jobs.stuck(kind).count() for kind in jobs.kinds()),
            count_failed=lambda: sum(jobs.failed(kind).count() for kind in jobs.kinds()),
        )

    def run(self) -> None:
        try:
            stuck = self.count_stuck()
            failed = self.count_failed() if self.count_failed else 0
        except DatabaseError as error:
            raise ServiceUnavailable(_("The jobs cannot be read.")) from error
        if failed:
            self.note = format_lazy(
                ngettext_lazy(
                    "{count} job failed for good.", "{count} jobs failed for good.", "count"
                ),
                count=failed,
            )
        if stuck:
            raise ServiceUnavailable(
                format_lazy(
                    ngettext_lazy("{count} job is stuck.", "{count} jobs are stuck.", "count"),
                    count=stuck,
                )
            )


@dataclasses.dataclass
class MediaStorage(Storage):
    """django-health-check's storage check, within the health timeout (an object store
    that hangs must not hold the answer)."""

    timeout: datetime.timedelta = dataclasses.field(default_factory=_timeout, repr=False)


@dataclasses.dataclass
class DiskSpace(HealthCheck):
    """At least ``min_free_percent`` of the disk holding ``path`` is free (``shutil``: no
    psutil needed, which only the dev tools bring)."""

    path: Path = dataclasses.field(default_factory=lambda: Path(settings.MEDIA_ROOT))
    min_free_percent: float = dataclasses.field(
        default_factory=lambda: settings.HEALTH_DISK_MIN_FREE_PERCENT, repr=False
    )
    note: str | Promise = dataclasses.field(init=False, repr=False, default="")

    def run(self) -> None:
        path = self.path
        while not path.exists() and path != path.parent:
            path = path.parent  # MEDIA_ROOT is made on the first upload
        usage = shutil.disk_usage(path)
        free = 100 * usage.free / usage.total if usage.total else 0.0
        self.note = format_lazy(
            # xgettext:no-python-format
            _("{free:.0f}% free ({gigabytes:.1f} GB)"),
            free=free,
            gigabytes=usage.free / 1e9,
        )
        if free < self.min_free_percent:
            raise ServiceWarning(
                format_lazy(
                    # xgettext:no-python-format
                    _("Only {free:.1f}% of the disk is free (the minimum is {minimum}%)."),
                    free=free,
                    minimum=self.min_free_percent,
                )
            )


# --- Probes: what readiness runs ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Probe:
    """One component: a stable name (JSON, metrics), a label for people, and its check.
    ``uses_database``: run in the request's thread, on its database connection."""

    name: str
    label: str | Promise
    make: Callable[[], HealthCheck]
    uses_database: bool = False


@dataclasses.dataclass(frozen=True)
class Outcome:
    name: str
    label: str | Promise
    ok: bool
    detail: str | Promise
    seconds: float


_registered: dict[str, Probe] = {}


def register(probe: Probe) -> None:
    """Add a probe to readiness (idempotent by name); the composition root wires these."""
    _registered[probe.name] = probe


def _is_redis(url: object) -> bool:
    return isinstance(url, str) and url.startswith(("redis://", "rediss://"))


def probes() -> list[Probe]:
    """The components this deployment has, in the order the page lists them."""
    found = [Probe("database", _("Database"), Database, uses_database=True)]
    cache = settings.CACHES["default"]
    location = cache.get("LOCATION")
    if isinstance(location, str) and _is_redis(location):
        found.append(Probe("cache", _("Cache (Redis)"), lambda: RedisPing(url=location)))
    else:
        found.append(Probe("cache", _("Cache"), Cache))
    if _is_redis(settings.CELERY_BROKER_URL) and not settings.CELERY_TASK_ALWAYS_EAGER:
        broker = settings.CELERY_BROKER_URL
        found += [
            Probe("broker", _("Task broker (Redis)"), lambda: RedisPing(url=broker)),
            Probe("workers", _("Workers"), Workers),
            Probe("beat", _("Beat (periodic tasks)"), BeatHeartbeat, uses_database=True),
        ]
    found += list(_registered.values())
    found.append(Probe("storage", _("File storage"), MediaStorage))
    default_storage = storages["default"]
    if isinstance(default_storage, FileSystemStorage):
        media = Path(default_storage.location)
        found.append(Probe("disk", _("Disk space"), lambda: DiskSpace(path=media)))
    return found


def _outcome(probe: Probe, check: HealthCheck, error: BaseException | None, took: float) -> Outcome:
    note = getattr(check, "note", "")
    if error is None:
        return Outcome(probe.name, probe.label, True, note, took)
    if isinstance(error, HealthCheckException):
        detail: str | Promise = error.message
    else:
        detail = _("The check failed unexpectedly.")
    return Outcome(probe.name, probe.label, False, detail, took)


def _run_here(check: HealthCheck) -> BaseException | None:
    """Run a synchronous check in this thread, as ``HealthCheck.get_result`` would."""
    try:
        check.run()
    except HealthCheckException as error:
        return error
    except Exception as error:
        logger.exception("Unexpected exception during health check %r", check)
        return error
    return None


async def _gather(checks: list[HealthCheck], executor: ThreadPoolExecutor) -> list[Any]:
    return await asyncio.gather(*(check.get_result(executor) for check in checks))


def _run_checks(checks: list[HealthCheck], executor: ThreadPoolExecutor) -> list[Any]:
    """The checks side by side on an event loop of their own: in this thread, or in a fresh
    one when this thread already runs a loop (an ASGI server, or a test that drove a browser
    through Playwright's sync API), where ``asyncio.run`` refuses to start."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_gather(checks, executor))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-loop") as loop_thread:
        return loop_thread.submit(lambda: asyncio.run(_gather(checks, executor))).result()


def run(selected: Iterable[Probe] | None = None) -> list[Outcome]:
    """Run the probes; each answers within its own timeout (about a second)."""
    chosen = list(probes() if selected is None else selected)
    outcomes: dict[str, Outcome] = {}
    here = [(p, p.make()) for p in chosen if p.uses_database]
    elsewhere = [(p, p.make()) for p in chosen if not p.uses_database]
    if elsewhere:
        # Not waited for on the way out: a thread stuck on a dead server is abandoned once
        # its check timed out, instead of holding the answer.
        executor = ThreadPoolExecutor(max_workers=len(elsewhere), thread_name_prefix="health")
        try:
            results = _run_checks([check for _, check in elsewhere], executor)
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
        for (probe, check), result in zip(elsewhere, results, strict=True):
            outcomes[probe.name] = _outcome(probe, check, result.error, result.time_taken)
    for probe, check in here:
        started = time.perf_counter()
        error = _run_here(check)
        outcomes[probe.name] = _outcome(probe, check, error, time.perf_counter() - started)
    return [outcomes[p.name] for p in chosen]


# The job mechanism's stuck jobs are part of readiness (page, JSON, `manage.py health`).
register(Probe("jobs", _("Background jobs"), BackgroundJobs.of_every_kind, True))
