"""Domain events for systems outside the portal (webhooks): what happened, to which object,
and which organisations may hear of it.

The services that make things happen (enrolling, confirming, logging a visit, issuing a
certificate, finishing an import, merging factories) live in apps that cannot import the
webhooks app above them, so they call ``emit`` here, in the kernel, and the webhooks app
registers a *receiver* in its ``AppConfig.ready`` (the same shape as the scope sources and
the kinds of notice).

Why not the notices: a notice is one email to one person, and several of these events email
nobody (a withdrawal, a revocation), while others email several people; an event is one
thing that happened, addressed to organisations.

``emit`` records nothing itself: the event reaches the receivers only once the caller's
transaction commits (``transaction.on_commit``), so a rolled-back change (or savepoint) never
announces anything. The events one transaction emitted reach the receivers together, as one
batch (the webhooks app writes their deliveries with one INSERT). A receiver that fails is
logged, never raised: the change it reports is already committed.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

# Every kind of event, with the label an organisation's admin chooses it by.
KINDS: dict[str, Any] = {
    "enrolment.created": _("Enrolment created"),
    "enrolment.confirmed": _("Enrolment confirmed by the factory"),
    "enrolment.completed": _("Enrolment completed"),
    "enrolment.withdrawn": _("Enrolment withdrawn"),
    "visit.logged": _("Consulting visit logged"),
    "certificate.issued": _("Certificate issued"),
    "certificate.revoked": _("Certificate revoked"),
    "import.finished": _("Supplier-list import finished"),
    "factory.merged": _("Factory records merged"),
}


@dataclass(frozen=True)
class Event:
    """One thing that happened, addressed to the organisations whose scope reaches it."""

    kind: str
    organisation_ids: frozenset[int]
    object_type: str
    object_id: int
    data: Mapping[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime.datetime = field(default_factory=timezone.now)


Receiver = Callable[[Sequence[Event]], None]
_RECEIVERS: dict[str, Receiver] = {}


def register_receiver(name: str, receiver: Receiver) -> None:
    """Hand every committed batch of events to ``receiver`` (idempotent by name)."""
    _RECEIVERS[name] = receiver


def emit(
    kind: str,
    *,
    organisation_ids: Iterable[int | None],
    object_type: str,
    object_id: int,
    data: Mapping[str, Any] | None = None,
) -> Event | None:
    """Announce ``kind`` about ``object_type`` ``object_id`` to ``organisation_ids`` once
    the caller's transaction commits (at once outside one). Returns the event, or None when
    nobody is addressed or nobody listens."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind of event {kind!r}.")
    ids = frozenset(pk for pk in organisation_ids if pk is not None)
    if not ids or not _RECEIVERS:
        return None
    event = Event(
        kind=kind,
        organisation_ids=ids,
        object_type=object_type,
        object_id=object_id,
        data=dict(data or {}),
    )
    transaction.on_commit(_Announce(event))
    return event


class _Announce:
    """The on-commit callback of one event. The first of a transaction's callbacks to run
    takes along every other event still waiting in that commit (a savepoint rolled back has
    removed its own callbacks, so its events are not among them); the others find theirs
    gone."""

    def __init__(self, event: Event) -> None:
        self.event = event
        self.sent = False

    def __call__(self) -> None:
        if self.sent:
            return
        waiting = [
            entry[1]
            for entry in transaction.get_connection().run_on_commit
            if isinstance(entry[1], _Announce) and not entry[1].sent and entry[1] is not self
        ]
        batch = [self, *waiting]
        for announce in batch:
            announce.sent = True
        announce_now([announce.event for announce in batch])


def announce_now(events: Sequence[Event]) -> None:
    """Hand ``events`` to every receiver (what the on-commit callback does)."""
    for name, receiver in _RECEIVERS.items():
        try:
            receiver(events)
        except Exception:
            logger.exception("Event receiver %s failed on %s event(s)", name, len(events))
