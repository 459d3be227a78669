"""What an operator follows: a request id through logs and tasks, and Prometheus metrics.

- **Request id.** ``RequestIdMiddleware`` takes a valid incoming ``X-Request-ID`` (a proxy's)
  or makes one, answers it in the same header and holds it in a context variable for the
  request. ``RequestIdFilter`` writes it into every log record (``record.request_id``; ``-``
  outside a request or task). A task queued during the request carries it in its message
  headers (``before_task_publish``), and the worker puts it back into the context variable
  while the task runs (``task_prerun``), so the worker's log lines carry it too.
- **Metrics.** ``MetricsMiddleware`` counts requests by view, method and status and times
  them; the task signals count tasks by name and outcome and time them. ``render_metrics``
  writes the text format, with gauges computed at scrape time by the callables the
  composition root passes (``Backlog``). Under gunicorn and Celery's prefork pool each process
  counts for itself: set ``PROMETHEUS_MULTIPROC_DIR`` to a directory shared by the web and
  worker processes of a host (emptied when they start) and the scrape adds them all up.

The kernel imports no app: the gauges' queries come from the composition root.
"""

from __future__ import annotations

import contextvars
import hmac
import logging
import logging.config
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sentry_sdk
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun
from django.conf import settings
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# --- Request id ------------------------------------------------------------------------------

REQUEST_ID_HEADER = "X-Request-ID"
# Header name in Celery task messages.
TASK_HEADER = "request_id"
# An id from outside is kept only if it is short and plain: it goes into logs and a header.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
NO_REQUEST_ID = "-"

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "score_request_id", default=None
)


def current_request_id() -> str | None:
    return request_id_var.get()


def accept_request_id(value: str | None) -> str:
    """The incoming id if it is valid, else a new one (32 hex digits)."""
    if value and _VALID_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives each request an id: in the response header, in its logs, in its tasks.

    First in ``MIDDLEWARE``, so a redirect or a refused host carries the id too. The id is
    cleared when the response is finished (``request_finished``), not when this middleware
    returns: Django logs a 4xx/5xx answer ("django.request") after the middleware chain.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        request_id_var.set(request_id)
        sentry_sdk.set_tag("request_id", request_id)  # nothing happens without SENTRY_DSN
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _forget_request_id(**kwargs: Any) -> None:
    request_id_var.set(None)


request_finished.connect(_forget_request_id, dispatch_uid="score-forget-request-id")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (and, in a task, ``task_id`` and ``task_name``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or NO_REQUEST_ID
        task = _running_task.get()
        if task is not None:
            record.task_id, record.task_name = task
        return True


# The task a worker process runs now: (id, name), for log records.
_running_task: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "score_running_task", default=None
)


# --- Logging --------------------------------------------------------------------------------


def _configure_celery_logging(**kwargs: Any) -> None:
    """Celery's worker and beat log through Django's LOGGING (same format, request ids)
    instead of setting up their own handlers: a receiver of ``setup_logging`` replaces
    Celery's set-up. ``LOG_LEVEL`` sets the level; ``--loglevel`` is ignored."""
    logging.config.dictConfig(settings.LOGGING)


# --- Metrics --------------------------------------------------------------------------------

# Latency buckets for pages and tasks, in seconds (a certificate or an import takes longer).
_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

HTTP_REQUESTS = Counter(
    "score_http_requests",
    "HTTP requests answered, by view, method and status code.",
    ["view", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "score_http_request_duration_seconds",
    "Time to answer an HTTP request, by view and method.",
    ["view", "method"],
    buckets=_BUCKETS,
)
TASKS = Counter(
    "score_celery_tasks",
    "Celery tasks run, by task and outcome (success, failure, retry, ...).",
    ["task", "outcome"],
)
TASK_LATENCY = Histogram(
    "score_celery_task_duration_seconds",
    "Time a Celery task ran, by task.",
    ["task"],
    buckets=_BUCKETS,
)
# Methods as labels: any other verb counts as "other", so a client cannot add labels.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNRESOLVED_VIEW = "<unresolved>"


class MetricsMiddleware:
    """Counts and times every request under its URL pattern's name (never the raw path, which
    would let anyone add series): unmatched paths count as ``<unresolved>``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match._func_path) if match else UNRESOLVED_VIEW
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(view, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(view, method).observe(elapsed)
        return response


# Start times of the tasks running in this process, by task id.
_task_started: dict[str, float] = {}
_task_tokens: dict[str, tuple[contextvars.Token[Any], contextvars.Token[Any] | None]] = {}


def _add_request_id_header(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """A task queued during a request carries the request's id in its message headers."""
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers[TASK_HEADER] = request_id


def _task_header(task: Any) -> str | None:
    request = getattr(task, "request", None)
    value = getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(
        TASK_HEADER
    )
    return value if isinstance(value, str) and _VALID_REQUEST_ID.fullmatch(value) else None


def _task_started_hook(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    _task_started[task_id] = time.perf_counter()
    running = _running_task.set((task_id, getattr(task, "name", "?")))
    # In-process (eager) runs already hold the caller's id; a worker takes it from the headers.
    header = _task_header(task)
    _task_tokens[task_id] = (running, request_id_var.set(header) if header else None)


def _task_finished_hook(
    task_id: str = "", task: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    started = _task_started.pop(task_id, None)
    name = getattr(task, "name", "?")
    TASKS.labels(name, (state or "unknown").lower()).inc()
    if started is not None:
        TASK_LATENCY.labels(name).observe(time.perf_counter() - started)
    tokens = _task_tokens.pop(task_id, None)
    if tokens is not None:
        running, request_id = tokens
        if request_id is not None:
            request_id_var.reset(request_id)
        _running_task.reset(running)


def watch_celery() -> None:
    """Connect the Celery signals: request ids into tasks, task metrics, logging set-up.
    Called when the Celery app is made, before a worker or beat sets up its logging."""
    before_task_publish.connect(_add_request_id_header, dispatch_uid="score-request-id", weak=False)
    task_prerun.connect(_task_started_hook, dispatch_uid="score-task-started", weak=False)
    task_postrun.connect(_task_finished_hook, dispatch_uid="score-task-finished", weak=False)
    setup_logging.connect(_configure_celery_logging, dispatch_uid="score-logging", weak=False)


@dataclass(frozen=True)
class Gauge:
    """A gauge computed when Prometheus scrapes: ``values()`` maps a label value to a number."""

    name: str
    documentation: str
    label: str
    values: Callable[[], Mapping[str, float]]


class Backlog(Collector):
    """The gauges the composition root computes from the database at scrape time."""

    def __init__(self, gauges: Iterable[Gauge]) -> None:
        self.gauges = list(gauges)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for gauge in self.gauges:
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=[gauge.label])
            for label, value in gauge.values().items():
                family.add_metric([label], value)
            yield family


def render_metrics(gauges: Iterable[Gauge]) -> bytes:
    """The text format: this process's (or, in multiprocess mode, every process's) counters
    and histograms, then the gauges computed now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counters = generate_latest(registry)
    else:
        counters = generate_latest(REGISTRY)
    scrape = CollectorRegistry()
    scrape.register(Backlog(gauges))
    return counters + generate_latest(scrape)


def bearer_token_matches(request: HttpRequest, expected: str) -> bool:
    """True if the request carries ``Authorization: Bearer <expected>`` (compared in
    constant time); never true when no token is configured."""
    if not expected:
        return False
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())
