"""Who changed what, when, from what to what: the one history mechanism (django-simple-history).

An app tracks a model with ``history = tracked()`` (and ``tracked(m2m_fields=[...])`` for its
many-to-many fields). Each save, delete and many-to-many change writes a historical row
naming its author:

* a service wraps its writes in ``with acting(actor):`` so the row names the service's
  ``actor``, also in a Celery task or a management command (no request there);
* otherwise the signed-in person of the request (``HistoryRequestMiddleware``: the Django
  admin's edits), else nobody ("the portal").

Writes that bypass ``save()`` (``QuerySet.update``, ``bulk_create``) write no history: on a
tracked model, save row by row, or use ``simple_history.utils.bulk_create_with_history``.

``change_rows`` turns historical rows into what a page shows: who, when, and per field its
translated label, old value and new value (choice labels, names of related rows, dates in
the reader's format). Pages show them only for an object the view has already found in the
user's reach (``get_visible_or_404``); the history adds no access rule of its own.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from django.db import models
from django.db.models.fields.files import FieldFile
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django_countries.fields import Country
from simple_history.models import HistoricalRecords
from simple_history.utils import get_m2m_reverse_field_name

_actor: ContextVar[Any] = ContextVar("history_actor", default=None)

P = ParamSpec("P")
R = TypeVar("R")

EMPTY = "—"
# The change reason of the rows ``begin_history`` writes: the state of a row that existed
# before its history was kept (shown as such, never as its creation).
BASELINE = "history-began"


@contextmanager
def acting(actor: Any) -> Iterator[None]:
    """Name ``actor`` as the author of every history row written inside the block."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def records_actor(
    param: str = "actor",
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a service so the history rows it writes name its keyword argument ``param``
    (the services' ``actor``) as their author."""

    def decorate(service: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(service)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with acting(kwargs.get(param)):
                return service(*args, **kwargs)

        return wrapper

    return decorate


def history_user(instance: models.Model | None = None, request: Any = None, **_: Any) -> Any:
    """The author of a history row: the acting service's actor, else the request's user."""
    actor = _actor.get()
    if actor is not None and getattr(actor, "pk", None) is not None:
        return actor
    if request is not None and request.user.is_authenticated:
        return request.user
    return None


def tracked(*, excluded_fields: Sequence[str] = (), m2m_fields: Sequence[str] = ()) -> Any:
    """The history of a model: ``history = tracked()`` in its class body."""
    return HistoricalRecords(
        get_user=history_user,
        excluded_fields=list(excluded_fields),
        m2m_fields=list(m2m_fields),
    )


# --- Reading: historical rows as change rows ------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    """One field of one change: its label in the reader's language, old and new value."""

    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    """One saved change of one row: who, when, what (created, changed or deleted)."""

    when: datetime.datetime
    who: Any  # the User, or None: the portal itself, or someone no longer registered
    action: str  # "created", "changed", "deleted"
    subject: str  # what changed, e.g. "Participant Ayşe Yılmaz"
    changes: list[FieldChange] = field(default_factory=list)
    reason: str = ""

    @property
    def action_label(self) -> str:
        # After the object's name: "Participant · Ayşe Yılmaz changed".
        return {
            "created": pgettext("change history", "created"),
            "changed": pgettext("change history", "changed"),
            "deleted": pgettext("change history", "deleted"),
            "began": pgettext("change history", "as it was when the history began"),
        }[self.action]


def change_rows(
    records: models.QuerySet[Any],
    *,
    subject: Callable[[Any], str] | None = None,
    hide: Iterable[str] = (),
) -> list[HistoryEntry]:
    """The changes the historical rows of one model record, newest first.

    ``records`` is that model's history, already limited to what the page may show
    (e.g. ``Participant.history.filter(enrolment_id=...)``). Each row is compared with the
    previous row of the same object, so pass every row of the objects you show. ``subject``
    names the object of a row (default: the model's name and the object as text);
    ``hide`` names fields not worth showing. A constant number of queries: the rows, their
    authors, the many-to-many rows, and one per related model named in a change.
    """
    model = records.model.instance_type
    opts = model._meta
    pk_name = opts.pk.attname
    hidden = set(hide)
    fields = [
        f
        for f in records.model.tracked_fields
        if f.editable and not f.primary_key and f.name not in hidden
    ]
    m2m_fields = [f for f in records.model._history_m2m_fields if f.name not in hidden]
    rows = list(
        records.select_related("history_user").order_by(pk_name, "history_date", "history_id")
    )
    m2m_values = _m2m_values(rows, m2m_fields)
    labels = _Labels()

    entries: list[HistoryEntry] = []
    pending: dict[int, list[_Change]] = {}  # id(entry) → its changes, before naming rows
    previous: Any = None  # the previous row of the same object
    shown: HistoryEntry | None = None  # the entry of the previous row, if it was kept
    for row in rows:
        if previous is not None and getattr(previous, pk_name) != getattr(row, pk_name):
            previous = shown = None
        began = row.history_change_reason == BASELINE
        scalar_changes = 0
        changes: list[_Change] = []  # values as text, or related rows to name at the end
        entry = HistoryEntry(
            when=row.history_date,
            who=row.history_user,
            action="began" if began else _ACTIONS[row.history_type],
            subject=subject(row) if subject else _default_subject(row),
            reason="" if began else row.history_change_reason or "",
        )
        if row.history_type != "-":
            for f in fields:
                new = getattr(row, f.attname)
                old = getattr(previous, f.attname) if previous is not None else None
                if previous is None and _blank(new):
                    continue
                if previous is not None and old == new:
                    continue
                changes.append(
                    _Change(capfirst(str(f.verbose_name)), labels.of(f, old), labels.of(f, new))
                )
            scalar_changes = len(changes)
            for f in m2m_fields:
                new_ids = m2m_values[f.name].get(row.history_id, frozenset())
                old_ids = (
                    m2m_values[f.name].get(previous.history_id, frozenset())
                    if previous is not None
                    else frozenset()
                )
                if new_ids != old_ids:
                    changes.append(
                        _Change(
                            capfirst(str(f.verbose_name)),
                            labels.of_many(f, old_ids),
                            labels.of_many(f, new_ids),
                        )
                    )
        previous = row
        if entry.action == "changed" and not changes:
            shown = None
            continue  # a save that changed nothing shown (a timestamp, a hidden field)
        if (
            shown is not None
            and entry.action == "changed"
            and scalar_changes == 0
            and _same_moment(shown, entry)
        ):
            # One service call saving a row and then its many-to-many field (a draft and
            # its modules, a visit and the actions checked) reads as one change.
            pending[id(shown)] = _folded(pending[id(shown)], changes)
            shown.when = entry.when
            continue
        entries.append(entry)
        pending[id(entry)] = changes
        shown = entry
    labels.resolve()
    for entry in entries:
        entry.changes = [
            FieldChange(c.label, labels.text(c.old), labels.text(c.new)) for c in pending[id(entry)]
        ]
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries


def merged(*histories: Iterable[HistoryEntry], limit: int | None = None) -> list[HistoryEntry]:
    """Several objects' change rows as one list, newest first."""
    entries = sorted(
        (e for history in histories for e in history), key=lambda e: e.when, reverse=True
    )
    return entries[:limit] if limit is not None else entries


_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
FOLD_WITHIN = datetime.timedelta(seconds=2)


def _same_moment(earlier: HistoryEntry, later: HistoryEntry) -> bool:
    """Two rows of one object, by one person, within a moment: one change to a reader."""
    return (
        earlier.action in ("created", "changed")
        and earlier.who == later.who
        and later.when - earlier.when <= FOLD_WITHIN
    )


def _folded(first: list[_Change], then: list[_Change]) -> list[_Change]:
    by_label = {c.label: c for c in first}
    for change in then:
        before = by_label.get(change.label)
        by_label[change.label] = _Change(change.label, before.old, change.new) if before else change
    return list(by_label.values())


def _default_subject(row: Any) -> str:
    return capfirst(str(row.instance_type._meta.verbose_name))


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def _m2m_values(rows: list[Any], m2m_fields: list[Any]) -> dict[str, dict[Any, frozenset[Any]]]:
    """Per many-to-many field: history row id → the ids of the related rows then."""
    values: dict[str, dict[Any, frozenset[Any]]] = {}
    ids = [row.history_id for row in rows]
    for f in m2m_fields:
        m2m_model = HistoricalRecords.m2m_models[f]
        target = get_m2m_reverse_field_name(f)
        grouped: dict[Any, set[Any]] = defaultdict(set)
        for history_id, target_id in m2m_model.objects.filter(history_id__in=ids).values_list(
            "history_id", f"{target}_id"
        ):
            grouped[history_id].add(target_id)
        values[f.name] = {k: frozenset(v) for k, v in grouped.items()}
    return values


@dataclass(frozen=True)
class _Change:
    label: str
    old: str | _Ref
    new: str | _Ref


@dataclass(frozen=True)
class _Ref:
    """A related row named in a change, to be looked up once with all the others."""

    model: type[models.Model]
    ids: tuple[Any, ...]


class _Labels:
    """Values as a reader sees them; related rows are named in one query per model."""

    def __init__(self) -> None:
        self.wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
        self.names: dict[type[models.Model], dict[Any, str]] = {}

    def of(self, f: Any, value: Any) -> str | _Ref:
        if value is None or value == "":
            return EMPTY
        if f.is_relation and f.related_model is not None:
            self.wanted[f.related_model].add(value)
            return _Ref(f.related_model, (value,))
        return display_value(f, value)

    def of_many(self, f: Any, ids: frozenset[Any]) -> str | _Ref:
        if not ids:
            return EMPTY
        self.wanted[f.related_model].update(ids)
        return _Ref(f.related_model, tuple(sorted(ids)))

    def resolve(self) -> None:
        for model, ids in self.wanted.items():
            found = model._base_manager.in_bulk(list(ids))
            self.names[model] = {pk: str(obj) for pk, obj in found.items()}

    def text(self, value: str | _Ref) -> str:
        if isinstance(value, str):
            return value
        names = self.names.get(value.model, {})
        shown = [names.get(pk) or _("(deleted)") for pk in value.ids]
        return ", ".join(sorted(shown))


def display_value(f: Any, value: Any) -> str:
    """One field's value as the reader sees it: choice labels, yes/no, local dates."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, Country):
        return str(value.name)
    if isinstance(value, list | tuple):
        return ", ".join(str(getattr(v, "name", v)) for v in value) or EMPTY
    if f.flatchoices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "DATE_FORMAT")
    if isinstance(value, Decimal | float | int):
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    if isinstance(value, FieldFile):
        return value.name.rsplit("/", 1)[-1] if value.name else EMPTY
    return str(value)


# --- Migrations: a first row for what existed before the history ---------------------------


def begin_history(app_label: str, tracked_models: dict[str, Sequence[str]]) -> Any:
    """A ``RunPython`` function writing one history row per existing row of each model
    (``{"Partnership": ["modules"]}``: model name → its tracked many-to-many fields), so the
    first change after the upgrade shows its old value. Reversible with ``noop``."""

    def run(apps: Any, schema_editor: Any) -> None:
        now = timezone.now()
        for name, m2m_names in tracked_models.items():
            model = apps.get_model(app_label, name)
            historical = apps.get_model(app_label, f"Historical{name}")
            own = {"history_id", "history_date", "history_change_reason", "history_type"}
            copied = [
                f.attname
                for f in historical._meta.concrete_fields
                if f.name not in own and f.name != "history_user"
            ]
            rows = model._base_manager.order_by("pk").iterator(chunk_size=1000)
            batch: list[Any] = []
            for obj in rows:
                batch.append(
                    historical(
                        history_date=now,
                        history_type="+",
                        history_change_reason=BASELINE,
                        **{attname: getattr(obj, attname) for attname in copied},
                    )
                )
                if len(batch) == 1000:
                    _write_baseline(apps, app_label, model, historical, batch, m2m_names)
                    batch = []
            _write_baseline(apps, app_label, model, historical, batch, m2m_names)

    return run


def _write_baseline(
    apps: Any, app_label: str, model: Any, historical: Any, batch: list[Any], m2m: Sequence[str]
) -> None:
    if not batch:
        return
    created = historical._base_manager.bulk_create(batch)
    history_of = {row.id: row.history_id for row in created}
    for name in m2m:
        through = model._meta.get_field(name).remote_field.through
        source = model._meta.get_field(name).m2m_field_name()
        target = model._meta.get_field(name).m2m_reverse_field_name()
        m2m_history = apps.get_model(app_label, f"Historical{through._meta.object_name}")
        links = through._base_manager.filter(**{f"{source}__in": list(history_of)})
        m2m_history._base_manager.bulk_create(
            m2m_history(
                history_id=history_of[getattr(link, f"{source}_id")],
                id=link.pk,
                **{f"{source}_id": getattr(link, f"{source}_id")},
                **{f"{target}_id": getattr(link, f"{target}_id")},
            )
            for link in links.iterator(chunk_size=1000)
        )
