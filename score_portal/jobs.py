"""Background work that must happen exactly once: emails, certificate renders, supplier-list
imports. One mechanism for all of them: claim → run → finish or fail → stale-sweep.

Why a module of our own rather than a job queue library (procrastinate, django-q): the work
already lives in the rows it is about (an outbox row, a pending certificate, an uploaded
import), written in the caller's transaction; a person sees its status on those rows; and
Celery on Redis only carries the news that a row is waiting. What was copied three times was
the bookkeeping around those rows, and that is what this module holds, once:

- ``Job``, an abstract model the three models inherit: ``claimed_at`` (when a worker took
  the row), ``attempts`` (claims so far), ``last_error`` (what a person in the admin reads)
  and ``next_attempt_at`` (when the sweep queues the row if no task has taken it by then).
- ``register``: each model says which statuses mean waiting, working, done and failed, and
  which Celery task (by name: no app is imported here) does each step. A model may have
  several steps (an import is read, then written), each a waiting → working → done move.
- ``claim`` (one ``UPDATE … RETURNING``: the email path pays one round trip per email),
  ``finish`` and ``fail``, which hold only while the caller's claim does (``ClaimLost``
  otherwise, so a worker that outlived its claim cannot finish its successor's work).
- ``queue`` / ``queue_after_commit`` publish the step's task, in batches for the outbox;
  ``publish`` never raises: with the broker down the row simply waits for the sweep.
- ``sweep`` (the ``sweep_jobs`` task, every minute): a claim older than the kind's stale time
  (JOB_STALE_MINUTES, or the kind's own: two minutes for an email) belongs to a worker that
  died: the row is handed back, or given up once it has used its
  attempts (then an optional in-process task adds what the app needs, e.g. telling the
  person); rows whose ``next_attempt_at`` has passed are queued again.
- ``stuck`` / ``failed`` / ``retry``: what the admin's "Background jobs" page shows and does.

Every task is still safe to run twice: it claims first, and only one claim wins.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from celery import Task
from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from score_portal.cache import breaker
from score_portal.celery import app

logger = logging.getLogger(__name__)

# A row just written waits this long for its own task before the sweep queues it again.
QUEUE_AGAIN_AFTER = datetime.timedelta(minutes=1)
# How many rows of one kind a sweep queues at most (the next sweep takes the rest).
SWEEP_LIMIT = 2000


def soon() -> datetime.datetime:
    """When a row just written becomes the sweep's to queue (its own task comes first)."""
    return timezone.now() + QUEUE_AGAIN_AFTER


class Job(models.Model):
    """The bookkeeping of a row that a worker must process exactly once. Each model declares
    its own ``status`` (with its choices); the mechanism reads and writes it."""

    status = models.CharField(_("status"), max_length=10)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"), null=True, blank=True, default=soon
    )

    class Meta:
        abstract = True


# --- The registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One move of a job: a worker claims a row in one of ``waiting`` (it is then
    ``working``), runs ``task`` (a Celery task name, given the id or, for a batched kind, a
    list of ids) and finishes it ``done``."""

    waiting: tuple[str, ...]
    working: str
    done: str
    task: str


@dataclass(frozen=True)
class Kind:
    model: type[Job]
    steps: tuple[Step, ...]
    # What a failed attempt (or a job given up) becomes. If it is a waiting status the job is
    # retried, ``retry_after`` later, until it has used its attempts; otherwise it is final.
    failed: str
    retry_after: datetime.timedelta = QUEUE_AGAIN_AFTER
    # None: JOB_MAX_ATTEMPTS. A kind whose failures are not passing ones sets its own.
    max_attempts: int | None = None
    # Ids per published task (the outbox: one task per email costs more than the email).
    batch: int = 1
    # A task the sweep runs in-process (not queued) with the id after giving a job up.
    on_give_up: str = ""
    # What an admin retry of a finally failed job resets besides this module's fields.
    retry_changes: Mapping[str, Any] = field(default_factory=dict)
    # None: JOB_STALE_MINUTES. A kind whose work is short (an email) sets its own, so a job
    # whose worker died is handed on sooner; its tasks' time limits (``time_limit``) follow.
    stale: datetime.timedelta | None = None

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    @property
    def stale_after(self) -> datetime.timedelta:
        return self.stale or datetime.timedelta(minutes=settings.JOB_STALE_MINUTES)

    @property
    def attempts_allowed(self) -> int:
        return self.max_attempts or settings.JOB_MAX_ATTEMPTS

    @property
    def waiting(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for step in self.steps for s in step.waiting))

    def step(self, working: str | None = None) -> Step:
        if working is None:
            return self.steps[0]
        return next(step for step in self.steps if step.working == working)

    def step_waiting_in(self, status: str) -> Step:
        return next(step for step in self.steps if status in step.waiting)


_KINDS: dict[type[Job], Kind] = {}


def moves_of(model: type[Job]) -> set[tuple[str, str]]:
    """The status moves this mechanism makes on ``model``'s rows (a claim, a finish, a failed
    attempt, a dead worker's row handed back, an admin's retry of a failed job), so that the
    model's transition table can be checked against them."""
    kind = _KINDS[model]
    moves = set()
    for step in kind.steps:
        moves |= {(waiting, step.working) for waiting in step.waiting}
        moves |= {(step.working, step.done), (step.working, kind.failed)}
        moves.add((step.working, step.waiting[0]))
    moves.add((kind.failed, kind.steps[0].waiting[0]))
    return {(source, target) for source, target in moves if source != target}


def register(model: type[Job], **options: Any) -> Kind:
    """Make ``model`` a kind of job (called under the model's class, so the registry is
    complete whenever the models are loaded)."""
    kind = Kind(model=model, **options)
    _KINDS[model] = kind
    return kind


def kinds() -> list[Kind]:
    return list(_KINDS.values())


def kind_of(model: type[Job]) -> Kind:
    return _KINDS[model]


def stale_after(model: type[Job] | None = None) -> datetime.timedelta:
    """How long a claim of ``model``'s jobs holds (JOB_STALE_MINUTES unless the kind says)."""
    if model is None:
        return datetime.timedelta(minutes=settings.JOB_STALE_MINUTES)
    return _KINDS[model].stale_after


# A job task's Celery time limits: stopped (soft limit: an exception the service turns into a
# message) a margin before its claim goes stale, killed half that margin before, so a live
# worker never holds a job the sweep has handed to another. The margin is a quarter of the
# stale time, at most two minutes (15 minutes: 13 and 14; an email's 2 minutes: 60 and 90 s).


def _margin(model: type[Job] | None) -> int:
    return min(60, int(stale_after(model).total_seconds()) // 4)


def soft_time_limit(model: type[Job] | None = None) -> int:
    return int(stale_after(model).total_seconds()) - 2 * _margin(model)


def time_limit(model: type[Job] | None = None) -> int:
    return int(stale_after(model).total_seconds()) - _margin(model)


# --- Claim, finish, fail ----------------------------------------------------------------------


class ClaimLost(Exception):
    """The job was handed to another worker (the claim went stale) while this one was at it."""


@dataclass(frozen=True)
class Claim:
    at: datetime.datetime
    working: str
    attempts: int
    values: tuple[Any, ...] = ()


def _free(statuses: Iterable[str], working: str) -> Q:
    """Rows waiting in ``statuses`` that no worker holds (a status may be waiting and working
    at once, a certificate's "pending": then only an unclaimed row is free)."""
    statuses = tuple(statuses)
    free = Q(status__in=[s for s in statuses if s != working])
    if working in statuses:
        free |= Q(status=working, claimed_at__isnull=True)
    return free


def claim(
    model: type[Job],
    pk: int,
    *,
    working: str | None = None,
    returning: Sequence[str] = (),
    changes: Mapping[str, Any] | None = None,
    now: datetime.datetime | None = None,
) -> Claim | None:
    """Take row ``pk`` for this worker: from a waiting status of the step that leads to
    ``working`` (the kind's first step by default), or from a stale claim, while it has
    attempts left. Returns the claim (with the ``returning`` columns read in the same
    statement), or None when another worker has it or there is nothing to do, so a task run
    twice does the work once. ``changes`` are set along with the claim."""
    kind = _KINDS[model]
    step = kind.step(working)
    now = now or timezone.now()
    meta = model._meta
    qn = connection.ops.quote_name

    def column(name: str) -> str:
        return qn(str(cast("models.Field[Any, Any]", meta.get_field(name)).column))

    def value(name: str, raw: Any) -> Any:
        return cast("models.Field[Any, Any]", meta.get_field(name)).get_db_prep_save(
            raw, connection
        )

    sets = [f"{column('status')} = %s", f"{column('claimed_at')} = %s"]
    params: list[Any] = [step.working, value("claimed_at", now)]
    for name, raw in (changes or {}).items():
        sets.append(f"{column(name)} = %s")
        params.append(value(name, raw))
    sets.append(f"{column('attempts')} = {column('attempts')} + 1")
    waiting = [s for s in step.waiting if s != step.working]
    free = []
    if waiting:
        free.append(f"{column('status')} IN ({', '.join(['%s'] * len(waiting))})")
    if step.working in step.waiting:
        free.append(f"({column('status')} = %s AND {column('claimed_at')} IS NULL)")
    free.append(f"({column('status')} = %s AND {column('claimed_at')} < %s)")
    sql = (
        f"UPDATE {qn(meta.db_table)} SET {', '.join(sets)} "
        f"WHERE {column(meta.pk.name)} = %s AND {column('attempts')} < %s "
        f"AND ({' OR '.join(free)}) "
        f"RETURNING {', '.join(column(name) for name in ('attempts', *returning))}"
    )
    params += [pk, kind.attempts_allowed, *waiting]
    if step.working in step.waiting:
        params.append(step.working)
    params += [step.working, value("claimed_at", now - kind.stale_after)]
    relaxed = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if relaxed:
            # The claim needs no disk flush of its own: the commit that finishes the job
            # flushes it too. A database crash before that loses only the claim, which
            # reopens the window a worker dying mid-job has anyway; it saves one flush per
            # job (one per email).
            cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return Claim(at=now, working=step.working, attempts=int(row[0]), values=tuple(row[1:]))


def _holding(model: type[Job], pk: int, held: Claim) -> QuerySet[Job]:
    return model._default_manager.filter(pk=pk, status=held.working, claimed_at=held.at)


def finish(model: type[Job], pk: int, held: Claim, *, status: str = "", **changes: Any) -> None:
    """End the claimed job as ``status`` (the step's done status by default) with
    ``changes``; raises ClaimLost if the claim no longer holds (inside a transaction, that
    rolls the work back)."""
    status = status or _KINDS[model].step(held.working).done
    if not _holding(model, pk, held).update(status=status, **changes):
        raise ClaimLost(f"{model._meta.label} {pk}")


def error_text(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        error = f"{type(error).__name__}: {error}"
    return error[:2000]


def fail(model: type[Job], pk: int, held: Claim, error: BaseException | str) -> bool:
    """Record that this attempt failed and release the claim: the job is retried (by the
    task's own retry, or the sweep ``retry_after`` later) while it has attempts left, or stays
    failed for a person to see. False if the claim no longer held."""
    kind = _KINDS[model]
    return bool(
        _holding(model, pk, held).update(
            status=kind.failed,
            claimed_at=None,
            last_error=error_text(error),
            next_attempt_at=timezone.now() + kind.retry_after,
        )
    )


# --- Queueing ---------------------------------------------------------------------------------


def task(name: str) -> Task:  # type: ignore[type-arg]
    """The Celery task called ``name``. A web process has imported no app's tasks.py (only
    a worker does, at start): the first look-up runs Celery's autodiscovery."""
    try:
        return app.tasks[name]
    except KeyError:
        app.loader.import_default_modules()  # every installed app's tasks.py
        return app.tasks[name]


def publish(task_name: str, *args: Any) -> bool:
    """Queue the task named ``task_name`` with ``args``; False if the broker is down (logged,
    never raised). The work itself is safe in the database, so a request never fails
    because Redis is away: the sweep queues it once it is back.

    A publish that failed makes this process skip the broker for REDIS_RETRY_SECONDS
    (score_portal.cache.breaker): each attempt at a frozen Redis costs a socket timeout,
    and a request that queues several kinds of work must not pay it for each."""
    broker = str(app.conf.broker_url)
    eager = bool(app.conf.task_always_eager)
    if not eager and breaker.is_open(broker):
        logger.info("Broker down: %s%r left for the sweep", task_name, args)
        return False
    try:
        task(task_name).delay(*args)
    except Exception:
        logger.exception("Could not queue %s%r: left for the sweep", task_name, args)
        if not eager:  # in-process, the task itself failed, not the broker
            breaker.trip(broker, settings.REDIS_RETRY_SECONDS)
        return False
    if not eager and breaker.was_tripped(broker) and breaker.close(broker):
        logger.warning("Broker answers again")
    return True


def queue(model: type[Job], ids: Sequence[int], *, working: str | None = None) -> bool:
    """Publish the step's task for ``ids`` (in batches for a batched kind); False, and the
    rest left to the sweep, once the broker is found down."""
    kind = _KINDS[model]
    task_name = kind.step(working).task
    if kind.batch == 1:
        return all(publish(task_name, pk) for pk in ids)
    for start in range(0, len(ids), kind.batch):
        if not publish(task_name, list(ids[start : start + kind.batch])):
            return False
    return True


def queue_after_commit(model: type[Job], pk: int, *, working: str | None = None) -> None:
    """Queue the job when the transaction commits, together with the others of the same kind
    and step written in it: the first of their on-commit callbacks publishes them all (in
    batches) and the others find nothing left. (An id left over from a rolled-back savepoint
    goes out with the commit and is skipped: its row does not exist.)"""
    db = transaction.get_connection()
    waiting: dict[tuple[type[Job], str | None], list[int]] = db.__dict__.setdefault(
        "_score_jobs_pending", {}
    )
    if not db.run_on_commit:
        # No callback waits for a commit, so what is left came from a rolled-back transaction.
        waiting.clear()
    waiting.setdefault((model, working), []).append(pk)
    transaction.on_commit(partial(_flush, waiting, model, working))


def _flush(
    waiting: dict[tuple[type[Job], str | None], list[int]], model: type[Job], working: str | None
) -> None:
    ids = waiting.pop((model, working), [])
    if ids:
        queue(model, ids, working=working)


# --- The sweep --------------------------------------------------------------------------------


def sweep(*models_: type[Job], now: datetime.datetime | None = None) -> int:
    """Sweep every kind (or those of ``models_``): hand back the jobs whose worker died (or
    give them up once they have used their attempts), then queue the ones whose next attempt
    is due. Returns how many were queued; stops a kind early while the broker is down. Safe
    to run twice: queueing twice is harmless, the tasks claim."""
    now = now or timezone.now()
    return sum(_sweep(_KINDS[m], now) for m in (models_ or tuple(_KINDS)))


def _sweep(kind: Kind, now: datetime.datetime) -> int:
    manager = kind.model._default_manager
    for step in kind.steps:
        stale = manager.filter(status=step.working, claimed_at__lt=now - kind.stale_after)
        for pk, claimed_at, attempts in stale.values_list("pk", "claimed_at", "attempts")[
            :SWEEP_LIMIT
        ]:
            assert claimed_at is not None  # filtered on it
            held = Claim(at=claimed_at, working=step.working, attempts=attempts)
            if attempts < kind.attempts_allowed:
                _holding(kind.model, pk, held).update(
                    status=step.waiting[0], claimed_at=None, next_attempt_at=now
                )
            else:
                _give_up(kind, pk, held)
    queued = 0
    for step in kind.steps:
        due = (
            manager.filter(_free(step.waiting, step.working))
            .filter(attempts__lt=kind.attempts_allowed, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:SWEEP_LIMIT]
        )
        ids = list(due)
        for start in range(0, len(ids), kind.batch):
            batch = ids[start : start + kind.batch]
            if not queue(kind.model, batch, working=step.working):
                break  # the broker is down: the next sweep tries again
            queued += len(batch)
    if queued:
        logger.info("Sweep queued %s %s job(s)", queued, kind.label)
    return queued


def _give_up(kind: Kind, pk: int, held: Claim) -> None:
    message = gettext(
        "The worker stopped %(count)s times while doing this; it is not tried again."
    ) % {"count": held.attempts}
    given_up = _holding(kind.model, pk, held).update(
        status=kind.failed, claimed_at=None, last_error=message
    )
    if given_up:
        logger.error("Gave %s %s up after %s attempts", kind.label, pk, held.attempts)
        if kind.on_give_up:
            task(kind.on_give_up)(pk)  # in-process: the app's part of giving up


# --- What the admin shows and does ---------------------------------------------------------------


def stuck(kind: Kind, now: datetime.datetime | None = None) -> QuerySet[Job]:
    """Jobs held longer than the stale time, or due for longer than that without a worker
    taking them (the broker or the workers are down, or the sweep is not running)."""
    now = now or timezone.now()
    late = now - kind.stale_after
    held = Q(status__in=[s.working for s in kind.steps], claimed_at__lt=late)
    waiting = Q()
    for step in kind.steps:
        waiting |= _free(step.waiting, step.working)
    overdue = waiting & Q(attempts__lt=kind.attempts_allowed, next_attempt_at__lt=late)
    return kind.model._default_manager.filter(held | overdue)


def failed(kind: Kind) -> QuerySet[Job]:
    """Jobs that failed for good: given up after their attempts, or failed with an error in
    a final status. (A failure the job's person must fix, such as an unreadable supplier
    list, records no ``last_error``: it is theirs to see, not the admin's.)"""
    free = Q(pk__in=[])
    for step in kind.steps:
        free |= _free(step.waiting, step.working)
    exhausted = free & Q(attempts__gte=kind.attempts_allowed)
    manager = kind.model._default_manager
    if kind.failed in kind.waiting:
        return manager.filter(exhausted)
    return manager.filter(exhausted | Q(status=kind.failed)).exclude(last_error="")


def retry(model: type[Job], pks: Iterable[int]) -> int:
    """Give the chosen failed or stuck jobs a fresh set of attempts and queue them after
    commit: a waiting one stays in its status, a stale one goes back to its step's waiting
    status, a finally failed one starts again from the first step (with the kind's
    ``retry_changes``). A job held by a live worker, or done meanwhile, is left alone.
    Returns how many were queued."""
    kind = _KINDS[model]
    manager = model._default_manager
    late = timezone.now() - kind.stale_after
    count = 0
    for pk, status in manager.filter(pk__in=list(pks)).values_list("pk", "status"):
        changes: dict[str, Any] = {
            "attempts": 0,
            "claimed_at": None,
            "last_error": "",
            "next_attempt_at": soon(),
        }
        condition = Q()
        held_by = [step for step in kind.steps if step.working == status]
        if held_by:
            step = held_by[0]
            condition = Q(claimed_at__isnull=True) | Q(claimed_at__lt=late)
            changes["status"] = step.waiting[0]
        elif status in kind.waiting:
            step = kind.step_waiting_in(status)
        elif status == kind.failed:
            step = kind.steps[0]
            changes.update(status=step.waiting[0], **kind.retry_changes)
        else:
            continue  # done meanwhile
        if manager.filter(condition, pk=pk, status=status).update(**changes):
            queue_after_commit(model, pk, working=step.working)
            count += 1
    return count
