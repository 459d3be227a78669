"""Reads about the catalogue, cohorts and enrolments, scoped to the user."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from partners.models import Membership, Partnership
from score_portal import access
from score_portal.history import HistoryEntry, change_rows, merged
from score_portal.models import User
from score_portal.scope import Scope
from training.models import (
    Certificate,
    Cohort,
    ConsultingVisit,
    Enrolment,
    ImprovementAction,
    KPIDefinition,
    KPIReading,
    Module,
    Participant,
    TrainerCertification,
)


def active_modules() -> QuerySet[Module]:
    return Module.objects.filter(is_active=True).select_related("prerequisite")


def enrolments_for(scope: Scope) -> QuerySet[Enrolment]:
    return (
        Enrolment.objects.visible_to(scope)
        .select_related("factory", "module", "partnership__partner", "cohort")
        .order_by("-created_at")
    )


def enrolment_status_counts(scope: Scope) -> dict[str, int]:
    """Enrolments per status (every status present, zero where none), in one query."""
    rows = (
        Enrolment.objects.visible_to(scope).order_by().values_list("status").annotate(n=Count("pk"))
    )
    counts = dict.fromkeys(Enrolment.Status.values, 0)
    counts.update(dict(rows))
    return counts


# A trainer's work on a cohort goes on after its classroom days: follow-up visits usually
# come within about three months (DOMAIN.md), so a cohort stays "current" that long after.
CURRENT_COHORT_DAYS = 120
HOME_COHORTS = 20


def current_cohorts(scope: Scope, *, today: datetime.date | None = None) -> list[Cohort]:
    """The cohorts a home page lists, at most ``HOME_COHORTS`` (a provider's whole history
    is on the paginated cohort list): classroom under way or ahead, the soonest first; then,
    if there is room, those ended less than ``CURRENT_COHORT_DAYS`` ago, the latest first."""
    today = today or timezone.localdate()
    since = today - datetime.timedelta(days=CURRENT_COHORT_DAYS)
    cohorts = cohorts_for(scope)
    ahead = list(cohorts.filter(classroom_end__gte=today)[:HOME_COHORTS])
    if len(ahead) == HOME_COHORTS:
        return ahead
    ended = cohorts.filter(classroom_end__lt=today, classroom_end__gte=since).order_by(
        "-classroom_end", "-pk"
    )
    return ahead + list(ended[: HOME_COHORTS - len(ahead)])


def _enterprises() -> Coalesce:
    """How many enterprises a cohort holds (its active enrolments). A subquery, not a join
    and GROUP BY: PostgreSQL then counts for the rows shown only, not for every cohort."""
    return Coalesce(
        Subquery(
            Enrolment.objects.filter(cohort=OuterRef("pk"), status__in=Enrolment.ACTIVE_STATUSES)
            .order_by()
            .values("cohort")
            .annotate(n=Count("pk"))
            .values("n")
        ),
        0,
    )


def cohorts_for(scope: Scope) -> QuerySet[Cohort]:
    return (
        Cohort.objects.visible_to(scope)
        .select_related("module", "provider", "trainer")
        .annotate(enterprises=_enterprises())
        .order_by("classroom_start")
    )


def cohorts_open_for_enrolment(
    module_id: int | None = None, *, provider_ids: frozenset[int] | None = None
) -> QuerySet[Cohort]:
    """Cohorts a brand may enrol into, or a provider place into: classroom not yet started,
    of one module if given (the enrol form offers the chosen module's only), of the given
    providers if given (placing), with how many places are taken."""
    cohorts = Cohort.objects.filter(classroom_start__gte=timezone.localdate())
    if module_id is not None:
        cohorts = cohorts.filter(module_id=module_id)
    if provider_ids is not None:
        cohorts = cohorts.filter(provider_id__in=provider_ids)
    return (
        cohorts.select_related("module", "provider")
        .annotate(enterprises=_enterprises())
        .order_by("module__sort_order", "module__code", "classroom_start", "pk")
    )


def certifications_of(user: User) -> QuerySet[TrainerCertification]:
    return TrainerCertification.objects.filter(trainer=user).select_related("module")


# --- Progress of one enrolment -------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool
    when: datetime.date | None = None
    final: bool = False


@dataclass(frozen=True)
class KPIProgress:
    kpi: KPIDefinition
    baseline: Decimal
    latest: Decimal | None

    @property
    def change_percent(self) -> int | None:
        if self.latest is None or not self.baseline:
            return None
        return round(100 * (self.latest - self.baseline) / abs(self.baseline))

    @property
    def improved(self) -> bool | None:
        if self.latest is None or self.latest == self.baseline:
            return None
        went_up = self.latest > self.baseline
        return went_up == (self.kpi.direction == KPIDefinition.Direction.HIGHER_IS_BETTER)


@dataclass(frozen=True)
class Progress:
    steps: list[Step]
    kpis: list[KPIProgress]

    @property
    def percent(self) -> int:
        return round(100 * sum(s.done for s in self.steps) / len(self.steps))

    @property
    def next_step(self) -> Step | None:
        return next((s for s in self.steps if not s.done), None)


def progress_of(enrolment: Enrolment) -> Progress:
    """The cycle as steps: baseline, classroom, improvement plan, visits 1..n, completed.

    Reads only the enrolment's prefetched relations (see ``enrolments_with_progress``), so a
    page of enrolments costs the same number of queries whatever its length.
    """
    visits = list(enrolment.visits.all())
    baseline = next((v for v in visits if v.kind == ConsultingVisit.Kind.BASELINE), None)
    follow_ups = sorted(
        (v for v in visits if v.kind == ConsultingVisit.Kind.FOLLOW_UP), key=lambda v: v.number
    )
    module = enrolment.module
    steps = [
        Step(
            "baseline",
            gettext("Intake / baseline visit"),
            baseline is not None,
            baseline.visited_on if baseline else None,
        )
    ]
    if module.classroom_days:
        steps.append(
            Step(
                "classroom",
                gettext("Classroom"),
                _classroom_attended(enrolment),
                enrolment.cohort.classroom_start if enrolment.cohort else None,
            )
        )
    steps.append(Step("plan", gettext("Improvement plan"), _has_improvement_plan(enrolment)))
    for number in range(1, module.followup_visits + 1):
        visit = follow_ups[number - 1] if len(follow_ups) >= number else None
        steps.append(
            Step(
                f"visit-{number}",
                gettext("Follow-up visit %(number)s") % {"number": number},
                visit is not None,
                visit.visited_on if visit else None,
            )
        )
    steps.append(
        Step(
            "completed",
            gettext("Completed"),
            enrolment.status == Enrolment.Status.COMPLETED,
            enrolment.completed_at.date() if enrolment.completed_at else None,
            final=True,
        )
    )
    return Progress(steps=steps, kpis=_kpi_progress(enrolment))


def _classroom_attended(enrolment: Enrolment) -> bool:
    annotated: bool | None = getattr(enrolment, "classroom_attended", None)
    if annotated is not None:
        return annotated
    return any(p.attended_classroom is not None for p in enrolment.participants.all())


def _has_improvement_plan(enrolment: Enrolment) -> bool:
    annotated: bool | None = getattr(enrolment, "has_improvement_plan", None)
    if annotated is not None:
        return annotated
    return bool(list(enrolment.improvement_actions.all()))


def _kpi_progress(enrolment: Enrolment) -> list[KPIProgress]:
    baselines: dict[int, KPIReading] = {}
    latest: dict[int, KPIReading] = {}
    for reading in enrolment.kpi_readings.all():
        if reading.kind == KPIReading.Kind.BASELINE:
            baselines[reading.kpi_id] = reading
        elif reading.kpi_id not in latest or (reading.measured_on, reading.pk) > (
            latest[reading.kpi_id].measured_on,
            latest[reading.kpi_id].pk,
        ):
            latest[reading.kpi_id] = reading
    return [
        KPIProgress(
            kpi=b.kpi,
            baseline=b.value,
            latest=latest[k].value if k in latest else None,
        )
        for k, b in sorted(baselines.items(), key=lambda item: item[1].kpi.display_name)
    ]


def enrolments_with_progress(scope: Scope) -> QuerySet[Enrolment]:
    """Enrolments with everything ``progress_of`` reads, in a fixed number of queries."""
    return enrolments_for(scope).prefetch_related(
        "participants",
        "visits",
        "improvement_actions",
        Prefetch("kpi_readings", queryset=KPIReading.objects.select_related("kpi")),
    )


# What a progress card and the factory's heading read of an enrolment and its relations:
# the rest (the factory's contacts and match keys, the module's description, the
# partnership's terms) stays in the database.
_CARD_FIELDS = (
    "pk",
    "status",
    "created_at",
    "completed_at",
    "factory__name",
    "factory__name_latin",
    "factory__city",
    "factory__country",
    "factory__language",
    "module__code",
    "module__title",
    "module__classroom_days",
    "module__followup_visits",
    "partnership__partner__name",
    "cohort__classroom_start",
)


def enrolment_cards_for(scope: Scope) -> QuerySet[Enrolment]:
    """Enrolments with what their progress cards read (the factory's home), in 3 queries.

    Whether anyone attended the classroom and whether the plan has an action come as two
    EXISTS columns of the enrolments query instead of two prefetches of every participant
    and action; visits and KPI readings are prefetched as ``progress_of`` needs them.
    """
    enrolments = enrolments_for(scope).only(*_CARD_FIELDS)
    return enrolments.annotate(
        classroom_attended=Exists(
            Participant.objects.filter(enrolment=OuterRef("pk"), attended_classroom__isnull=False)
        ),
        has_improvement_plan=Exists(ImprovementAction.objects.filter(enrolment=OuterRef("pk"))),
    ).prefetch_related(
        Prefetch(
            "visits",
            queryset=ConsultingVisit.objects.only(
                "pk", "enrolment_id", "kind", "number", "visited_on"
            ),
        ),
        Prefetch("kpi_readings", queryset=KPIReading.objects.select_related("kpi")),
    )


# --- The brand's matrix: suppliers × modules ------------------------------------------------


@dataclass(frozen=True)
class MatrixCell:
    """What a matrix cell shows of an enrolment: its status, linking to it."""

    pk: int
    status: str

    def get_status_display(self) -> str:
        return str(Enrolment.Status(self.status).label)


class MatrixSupplier(NamedTuple):
    """A supplier-list row as the matrix shows it: read as plain values, not model instances
    (a page of 50 would otherwise build 100 of them to read four columns)."""

    factory_id: int
    supplier_code: str
    factory_name: str
    country: str  # ISO 3166 code


# The values a matrix supplier is read from, for ``QuerySet.values_list``.
MATRIX_SUPPLIER_FIELDS = ("factory_id", "supplier_code", "factory__name", "factory__country")


@dataclass(frozen=True)
class MatrixRow:
    supplier: MatrixSupplier
    cells: list[MatrixCell | None]


def matrix_modules(scope: Scope) -> list[Module]:
    """Columns: the modules of the user's partnerships, else the whole active catalogue.

    One query: the active catalogue (a few dozen rows at most), each module flagged if one
    of the user's partnerships covers it.
    """
    covering = Partnership.modules.through.objects.filter(
        module_id=OuterRef("pk"),
        partnership__in=Partnership.objects.visible_to(scope).values("pk"),
    )
    catalogue = list(
        Module.objects.filter(is_active=True)
        .only("pk", "code", "title", "sort_order")
        .annotate(covered=Exists(covering))
        .order_by("sort_order", "code")
    )
    covered: list[Module] = [m for m in catalogue if m.covered]
    everything: list[Module] = list(catalogue)
    return covered or everything


def matrix_rows(
    scope: Scope, suppliers: Sequence[tuple[int, str, str, str]], modules: Sequence[Module]
) -> list[MatrixRow]:
    """One row per supplier on the page, one cell per module: the enrolment the user sees.

    Cells are read as plain tuples: 50 suppliers × 13 modules would otherwise build a model
    instance per enrolment only to read two of its columns.
    """
    by_cell: dict[tuple[int, int], MatrixCell] = {}
    enrolments = (
        Enrolment.objects.visible_to(scope)
        .filter(factory__in=[supplier[0] for supplier in suppliers])
        .order_by("created_at")
        .values_list("pk", "status", "factory_id", "module_id")
    )
    active = set(Enrolment.ACTIVE_STATUSES)
    for pk, status, factory_id, module_id in enrolments:
        key = (factory_id, module_id)
        # An active enrolment wins over an older declined or withdrawn one.
        if key not in by_cell or status in active:
            by_cell[key] = MatrixCell(pk, status)
    module_ids = [m.pk for m in modules]
    rows = []
    for values in suppliers:
        supplier = MatrixSupplier(*values)
        factory_id = supplier.factory_id
        rows.append(MatrixRow(supplier, [by_cell.get((factory_id, m)) for m in module_ids]))
    return rows


# --- The history of an enrolment's KPI readings ------------------------------------------


@dataclass(frozen=True)
class KPIHistoryEntry:
    """One change to a reading: who, when, what (old → new) and why."""

    when: datetime.datetime
    who: User | None
    kpi: KPIDefinition
    kind: str
    action: str
    changes: list[tuple[str, str, str]]  # (what, old, new)
    reason: str


def kpi_history(enrolment: Enrolment) -> list[KPIHistoryEntry]:
    """Every recording, correction and deletion of the enrolment's readings, newest first,
    in one query (deleted readings included: their history stays)."""
    records = (
        KPIReading.history.filter(enrolment_id=enrolment.pk)
        .select_related("history_user", "kpi")
        .order_by("id", "history_date", "history_id")
    )
    labels = {"+": gettext("recorded"), "~": gettext("corrected"), "-": gettext("deleted")}
    entries = []
    previous: Any = None  # the historical model has no static type
    for record in records:
        changes = []
        if previous is not None and previous.id == record.id and record.history_type == "~":
            if previous.value != record.value:
                changes.append((gettext("value"), _plain(previous.value), _plain(record.value)))
            if previous.measured_on != record.measured_on:
                changes.append(
                    (
                        gettext("measured on"),
                        previous.measured_on.isoformat(),
                        record.measured_on.isoformat(),
                    )
                )
        elif record.history_type != "~":
            changes.append(
                (gettext("value"), "", f"{_plain(record.value)} ({record.measured_on.isoformat()})")
                if record.history_type == "+"
                else (
                    gettext("value"),
                    f"{_plain(record.value)} ({record.measured_on.isoformat()})",
                    "",
                )
            )
        entries.append(
            KPIHistoryEntry(
                when=record.history_date,
                who=record.history_user,
                kpi=record.kpi,
                kind=str(KPIReading.Kind(record.kind).label),
                action=labels.get(record.history_type, record.history_type),
                changes=changes,
                reason=record.history_change_reason or "",
            )
        )
        previous = record
    return sorted(entries, key=lambda e: e.when, reverse=True)


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


# --- History (score_portal.history): only for an object the view found in the user's reach.

HISTORY_LIMIT = 200


def enrolment_history(enrolment: Enrolment) -> list[HistoryEntry]:
    """The recorded changes of the enrolment and its parts (participants, the improvement
    plan, the visits), newest first. KPI readings keep their own history: who may see them
    is narrower than who may see the enrolment."""
    pk = enrolment.pk
    return merged(
        change_rows(Enrolment.history.filter(id=pk), hide=["factory", "module"]),
        change_rows(
            Participant.history.filter(enrolment_id=pk),
            subject=lambda row: _named(Participant, row.name),
            hide=["enrolment"],
        ),
        change_rows(
            ImprovementAction.history.filter(enrolment_id=pk),
            subject=lambda row: _named(ImprovementAction, row.description),
            hide=["enrolment"],
        ),
        change_rows(
            ConsultingVisit.history.filter(enrolment_id=pk),
            subject=lambda row: f"{ConsultingVisit.Kind(row.kind).label} {row.number}",
            hide=["enrolment"],
        ),
        limit=HISTORY_LIMIT,
    )


def cohort_history(cohort: Cohort) -> list[HistoryEntry]:
    """The recorded changes of the cohort's own fields, newest first."""
    return change_rows(Cohort.history.filter(id=cohort.pk))[:HISTORY_LIMIT]


def _named(model: type[Any], name: str) -> str:
    label = str(model._meta.verbose_name)
    short = name if len(name) <= 60 else name[:59] + "…"
    return f"{label[:1].upper()}{label[1:]} · {short}"


# --- Placing: enrolments waiting for a cohort ----------------------------------------------


def waiting_time(
    enrolment: Enrolment, *, now: datetime.datetime | None = None
) -> datetime.timedelta | None:
    """How long an enrolment waited for its cohort: until it was placed, or until now while it
    waits. None when it never waited: enrolled straight into a cohort (placed as it was
    made, ``placed_at`` not after ``created_at``), or declined or withdrawn before a cohort."""
    if enrolment.placed_at is not None:
        if enrolment.placed_at <= enrolment.created_at:
            return None
        return enrolment.placed_at - enrolment.created_at
    if enrolment.waiting_for_cohort:
        return max((now or timezone.now()) - enrolment.created_at, datetime.timedelta(0))
    return None


def awaiting_placement(scope: Scope) -> QuerySet[Enrolment]:
    """Enrolments waiting for a cohort that the person sees (a provider's staff: those it may
    place, ``access.placeable_reach``; the ILO: all), the longest waiting first."""
    return (
        Enrolment.objects.visible_to(scope)
        .filter(
            cohort__isnull=True,
            status__in=(Enrolment.Status.PENDING, Enrolment.Status.CONFIRMED),
            module__classroom_days__gt=0,
        )
        .select_related("factory", "module", "partnership__partner")
        .order_by("created_at", "pk")
    )


def trainers_for(scope: Scope) -> QuerySet[User]:
    """Trainers (people with a trainer membership) whose page the person sees, with their
    providers and certifications."""
    trainer_ids = Membership.objects.filter(role=Membership.Role.TRAINER).values("user_id")
    return (
        User.objects.filter(pk__in=trainer_ids)
        .filter(access.trainer_reach(scope))
        .distinct()
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(role=Membership.Role.TRAINER).select_related(
                    "partner"
                ),
                to_attr="trainer_memberships",
            ),
            Prefetch(
                "certifications",
                queryset=TrainerCertification.objects.select_related("module"),
            ),
        )
        .order_by("email")
    )


def certification_history(trainer: User) -> list[HistoryEntry]:
    """Who certified the trainer for which module, renewed or revoked it, newest first."""
    return change_rows(
        TrainerCertification.history.filter(trainer_id=trainer.pk).select_related("module"),
        subject=lambda row: str(row.module) if row.module_id else "",
        hide=["trainer"],
    )[:200]


_CERTIFICATE_CODE = re.compile(r"^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$")


def verifiable_certificate(code: str) -> Certificate | None:
    """The certificate anyone may check by its code (the public verification page and the
    API's): issued or revoked, never one still pending. ``code`` as typed, upper case."""
    code = code.strip().upper()
    if not _CERTIFICATE_CODE.match(code):
        return None
    return (
        Certificate.objects.select_related("enrolment__factory", "enrolment__module")
        .exclude(status=Certificate.Status.PENDING)
        .filter(code=code)
        .first()
    )
