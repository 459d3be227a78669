"""The programme's results, as functions of a set of enrolments (README, "Programme results").

Every figure takes ``enrolments``: a queryset of the enrolments it covers, already limited
to what the reader may see and to the filters chosen (``EnrolmentFilter`` on the dashboards,
a partnership and a period in a report). Each is a set-based aggregate, a fixed number of
queries whatever the number of rows; nothing loops over enrolments or readings in Python.

- *Reached*: an enrolment confirmed by its factory, in progress or completed (pending,
  declined and withdrawn ones did not reach the factory).
- *A place*: an enrolment that holds one of its partnership's places (``holds_place``:
  not declined, not withdrawn), as the partnership's ledger counts them.
- KPI change, per factory and KPI, is rule 1 of ``training/impact.py``: the baseline of the
  factory's latest cycle (latest baseline by date) and the latest follow-up of that same
  enrolment. A brand's KPI figures come from ``training.impact`` only (``brand_kpi_results``).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Window
from django.db.models.functions import RowNumber, TruncMonth
from django.utils.translation import gettext_lazy as _

from partners.models import Partnership
from partners.selectors import Ledger, ledger_of, partnerships_with_ledger
from score_portal.scope import Scope
from suppliers.models import BrandSupplier, Factory
from training.impact import Figure, KPIImpact, kpi_impact, min_factories
from training.models import CoFunding, Enrolment, KPIDefinition, KPIReading, Participant

Status = Enrolment.Status
REACHED = (Status.CONFIRMED, Status.IN_PROGRESS, Status.COMPLETED)


def reached(enrolments: QuerySet[Enrolment]) -> QuerySet[Enrolment]:
    return enrolments.filter(status__in=REACHED)


# --- Reach --------------------------------------------------------------------------------


def factories_reached(enrolments: QuerySet[Enrolment]) -> int:
    """Distinct factories with a reached enrolment."""
    result = reached(enrolments).order_by().aggregate(n=Count("factory_id", distinct=True))
    return int(result["n"] or 0)


@dataclass(frozen=True)
class Stage:
    key: str
    label: str
    count: int
    statuses: tuple[str, ...]  # the enrolment list's ?status= for this stage


def funnel(enrolments: QuerySet[Enrolment]) -> list[Stage]:
    """Enrolled → confirmed → started → completed (each stage counts the enrolments that got
    at least that far and are not declined or withdrawn), then declined and withdrawn."""
    stages: list[tuple[str, Any, tuple[str, ...]]] = [
        ("enrolled", _("Enrolled"), tuple(Status.values)),
        ("confirmed", _("Confirmed by the factory"), REACHED),
        ("started", _("Training started"), (Status.IN_PROGRESS, Status.COMPLETED)),
        ("completed", _("Completed"), (Status.COMPLETED,)),
        ("declined", _("Declined by the factory"), (Status.DECLINED,)),
        ("withdrawn", _("Withdrawn"), (Status.WITHDRAWN,)),
    ]
    counts = enrolments.order_by().aggregate(
        **{key: Count("pk", filter=Q(status__in=statuses)) for key, _l, statuses in stages}
    )
    return [
        Stage(key=key, label=str(label), count=int(counts[key] or 0), statuses=statuses)
        for key, label, statuses in stages
    ]


@dataclass(frozen=True)
class Month:
    first_day: datetime.date
    count: int


def completions_per_month(enrolments: QuerySet[Enrolment]) -> list[Month]:
    """Completed enrolments by the month of their completion (UTC), every month between
    the first and the last present (zero where none)."""
    rows = (
        enrolments.filter(status=Status.COMPLETED)
        .order_by()
        .annotate(month=TruncMonth("completed_at", tzinfo=datetime.UTC))
        .values("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    )
    found = {_as_date(month): n for month, n in rows if month is not None}
    if not found:
        return []
    months = []
    day, last = min(found), max(found)
    while day <= last:
        months.append(Month(first_day=day, count=found.get(day, 0)))
        day = (day + datetime.timedelta(days=32)).replace(day=1)
    return months


def _as_date(value: datetime.date | datetime.datetime) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


@dataclass(frozen=True)
class Participants:
    """Participants named by reached enrolments, by role and gender."""

    cells: dict[tuple[str, str], int]  # (role, gender) -> count

    @property
    def total(self) -> int:
        return sum(self.cells.values())

    def count(self, *, role: str | None = None, gender: str | None = None) -> int:
        return sum(
            n
            for (r, g), n in self.cells.items()
            if (role is None or r == role) and (gender is None or g == gender)
        )

    @property
    def women(self) -> int:
        return self.count(gender=Participant.Gender.WOMAN)

    @property
    def workers(self) -> int:
        return self.count(role=Participant.Role.WORKER)

    @property
    def share_women(self) -> float | None:
        return share(self.women, self.total)

    @property
    def share_workers(self) -> float | None:
        return share(self.workers, self.total)

    def rows(self) -> list[dict[str, Any]]:
        """One row per role: its label, count per gender, and total."""
        return [
            {
                "role": role,
                "label": label,
                "genders": [self.count(role=role, gender=g) for g in Participant.Gender.values],
                "total": self.count(role=role),
            }
            for role, label in Participant.Role.choices
        ]


def participants(enrolments: QuerySet[Enrolment]) -> Participants:
    rows = (
        Participant.objects.filter(enrolment__in=reached(enrolments).values("pk"))
        .order_by()
        .values_list("role", "gender")
        .annotate(n=Count("pk"))
    )
    return Participants(cells={(role, gender): n for role, gender, n in rows})


@dataclass(frozen=True)
class Workforce:
    factories: int
    with_workforce: int  # factories that gave their number of workers
    workers: int
    women: int

    @property
    def share_women(self) -> float | None:
        return share(self.women, self.workers)


def workforce(enrolments: QuerySet[Enrolment]) -> Workforce:
    """Workers employed in the reached factories (as each factory last reported them)."""
    totals = Factory.objects.filter(pk__in=reached(enrolments).values("factory_id")).aggregate(
        factories=Count("pk"),
        with_workforce=Count("workers_total"),
        workers=Sum("workers_total"),
        women=Sum("workers_women"),
    )
    return Workforce(**{key: int(value or 0) for key, value in totals.items()})


def active_trainers(enrolments: QuerySet[Enrolment]) -> int:
    """Distinct trainers of the cohorts that hold reached enrolments."""
    result = (
        reached(enrolments)
        .exclude(cohort=None)
        .order_by()
        .aggregate(n=Count("cohort__trainer_id", distinct=True))
    )
    return int(result["n"] or 0)


# --- KPI change -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spread:
    """A KPI's change over a set of factories: median, quartiles and how many improved."""

    paired: int  # factories with a baseline and a follow-up
    median: Decimal | None
    q1: Decimal | None
    q3: Decimal | None
    improved: int

    @property
    def iqr(self) -> Decimal | None:
        return None if self.q1 is None or self.q3 is None else self.q3 - self.q1

    @property
    def share_improved(self) -> float | None:
        return share(self.improved, self.paired)


@dataclass(frozen=True)
class KPIChange:
    kpi: KPIDefinition
    with_baseline: int
    spread: Spread


def kpi_changes(enrolments: QuerySet[Enrolment]) -> list[KPIChange]:
    """Per KPI: factories with a baseline, and the change of those with a follow-up too.

    One query: the latest baseline per factory and KPI (a window), the latest follow-up of
    that enrolment (a subquery), aggregated by KPI with ``percentile_cont`` on PostgreSQL;
    elsewhere the per-factory rows (one per factory and KPI, never per reading) are
    aggregated here. Not for a brand's eyes: see ``brand_kpi_results``.
    """
    pairs = _kpi_pairs(enrolments)
    if connection.vendor == "postgresql":
        rows = _aggregate_in_postgresql(pairs)
    else:
        rows = _aggregate_here(pairs)
    kpis = KPIDefinition.objects.in_bulk([row[0] for row in rows])
    result = []
    for kpi_id, with_baseline, paired, median, q1, q3, rose, fell in rows:
        kpi = kpis[kpi_id]
        up = kpi.direction == KPIDefinition.Direction.HIGHER_IS_BETTER
        result.append(
            KPIChange(
                kpi=kpi,
                with_baseline=int(with_baseline),
                spread=Spread(
                    paired=int(paired),
                    median=_decimal(median),
                    q1=_decimal(q1),
                    q3=_decimal(q3),
                    improved=int((rose if up else fell) or 0),
                ),
            )
        )
    return sorted(result, key=lambda item: item.kpi.display_name)


def _kpi_pairs(enrolments: QuerySet[Enrolment]) -> QuerySet[KPIReading, Any]:
    """(kpi, baseline, follow-up or None): one row per factory and KPI."""
    latest_follow_up = (
        KPIReading.objects.filter(
            enrolment_id=OuterRef("enrolment_id"),
            kpi_id=OuterRef("kpi_id"),
            kind=KPIReading.Kind.FOLLOW_UP,
        )
        .order_by("-measured_on", "-pk")
        .values("value")[:1]
    )
    return (
        KPIReading.objects.filter(
            kind=KPIReading.Kind.BASELINE, enrolment_id__in=enrolments.values("pk")
        )
        .order_by()
        .annotate(
            place=Window(
                RowNumber(),
                partition_by=[F("enrolment__factory_id"), F("kpi_id")],
                order_by=[F("measured_on").desc(), F("pk").desc()],
            ),
            follow_up=Subquery(latest_follow_up),
        )
        .filter(place=1)
        .values_list("kpi_id", "value", "follow_up")
    )


KPIRow = tuple[int, int, int, Any, Any, Any, int, int]


def _aggregate_in_postgresql(pairs: QuerySet[KPIReading, Any]) -> list[KPIRow]:
    inner, params = pairs.query.sql_with_params()
    change = "(pairs.follow_up - pairs.baseline)"
    sql = f"""
        SELECT pairs.kpi_id, COUNT(*), COUNT(pairs.follow_up),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {change}),
               percentile_cont(0.25) WITHIN GROUP (ORDER BY {change}),
               percentile_cont(0.75) WITHIN GROUP (ORDER BY {change}),
               COUNT(*) FILTER (WHERE {change} > 0),
               COUNT(*) FILTER (WHERE {change} < 0)
        FROM ({inner}) AS pairs (kpi_id, baseline, follow_up)
        GROUP BY pairs.kpi_id
    """  # the inner query is the ORM's, with its own parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]  # type: ignore[misc]


def _aggregate_here(pairs: QuerySet[KPIReading, Any]) -> list[KPIRow]:
    baselines: dict[int, int] = defaultdict(int)
    changes: dict[int, list[Decimal]] = defaultdict(list)
    for kpi_id, baseline, follow_up in pairs.iterator(chunk_size=5000):
        baselines[kpi_id] += 1
        if follow_up is not None:
            changes[kpi_id].append(Decimal(follow_up) - Decimal(baseline))
    rows: list[KPIRow] = []
    for kpi_id, count in baselines.items():
        values = sorted(changes.get(kpi_id, []))
        rows.append(
            (
                kpi_id,
                count,
                len(values),
                percentile(values, Decimal("0.5")),
                percentile(values, Decimal("0.25")),
                percentile(values, Decimal("0.75")),
                sum(1 for v in values if v > 0),
                sum(1 for v in values if v < 0),
            )
        )
    return rows


def percentile(ordered: Sequence[Decimal], p: Decimal) -> Decimal | None:
    """PostgreSQL's ``percentile_cont``: linear interpolation at p·(n−1) of sorted values."""
    if not ordered:
        return None
    position = p * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def spread_of(values: Sequence[Decimal], kpi: KPIDefinition) -> Spread:
    """The spread of changes already in hand (a brand's counted factories)."""
    ordered = sorted(values)
    up = kpi.direction == KPIDefinition.Direction.HIGHER_IS_BETTER
    return Spread(
        paired=len(ordered),
        median=percentile(ordered, Decimal("0.5")),
        q1=percentile(ordered, Decimal("0.25")),
        q3=percentile(ordered, Decimal("0.75")),
        improved=sum(1 for v in ordered if (v > 0 if up else v < 0)),
    )


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


# --- Cost -----------------------------------------------------------------------------------


@dataclass
class Cost:
    """What the places cost, per currency: each place carries its partnership's budget ÷
    quota (the ledger's equal shares); partnerships without a quota (licences) cost none.
    A co-funded place counts each partnership's share of it (README, "Co-funding"), and so
    do its participants, so ``places`` and ``participants`` are Decimals."""

    currency: str
    places: Decimal = Decimal(0)
    budget: Decimal = Decimal(0)
    participants: Decimal = Decimal(0)
    partnerships: list[int] = field(default_factory=list)

    @property
    def per_factory(self) -> Decimal | None:
        return (self.budget / self.places).quantize(Decimal("0.01")) if self.places else None

    @property
    def per_participant(self) -> Decimal | None:
        if not self.participants:
            return None
        return (self.budget / self.participants).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class FundedShares:
    """Who pays which share of a set of place-holding enrolments, per partnership: the
    places (the ledger's rule: a factory a partnership funds alone in some module is one
    place, else the sum of its shares in that factory's enrolments) and the participants
    (each enrolment's people × the partnership's share)."""

    places: dict[int, Decimal]
    participants: dict[int, Decimal]


def funded_shares(
    enrolments: QuerySet[Enrolment], *, partner_id: int | None = None
) -> FundedShares:
    """The shares of ``enrolments`` that hold a place, per partnership (only ``partner_id``'s
    partnerships when given). Enrolments funded alone are counted by SQL aggregates; the
    few co-funded ones row by row: a fixed number of queries."""
    funded = enrolments.filter(holds_place=True).order_by()
    alone = funded.filter(lead_share=1)
    if partner_id is not None:
        alone = alone.filter(partnership__partner_id=partner_id)
    places: dict[int, Decimal] = defaultdict(Decimal)
    people: dict[int, Decimal] = defaultdict(Decimal)
    for pid, n in (
        alone.values("partnership_id")
        .annotate(n=Count("factory_id", distinct=True))
        .values_list("partnership_id", "n")
    ):
        places[pid] += n
    for pid, n in (
        Participant.objects.filter(enrolment__in=alone.values("pk"))
        .order_by()
        .values("enrolment__partnership_id")
        .annotate(n=Count("pk"))
        .values_list("enrolment__partnership_id", "n")
    ):
        people[pid] += n
    # Co-funded: the lead's part and each co-funder's share in force.
    cofunded = funded.filter(lead_share__lt=1)
    leads = cofunded if partner_id is None else cofunded.filter(partnership__partner_id=partner_id)
    rows = list(leads.values_list("pk", "partnership_id", "factory_id", "lead_share"))
    shares = CoFunding.objects.filter(in_force=True, enrolment__in=cofunded.values("pk"))
    if partner_id is not None:
        shares = shares.filter(partnership__partner_id=partner_id)
    rows += list(
        shares.values_list("enrolment_id", "partnership_id", "enrolment__factory_id", "share")
    )
    if not rows:
        return FundedShares(places=dict(places), participants=dict(people))
    alone_pairs = set(
        funded.filter(lead_share=1, factory_id__in={row[2] for row in rows}).values_list(
            "partnership_id", "factory_id"
        )
    )
    named = dict(
        Participant.objects.filter(enrolment_id__in={row[0] for row in rows})
        .order_by()
        .values("enrolment_id")
        .annotate(n=Count("pk"))
        .values_list("enrolment_id", "n")
    )
    for enrolment_id, pid, factory_id, share in rows:
        if (pid, factory_id) not in alone_pairs:
            places[pid] += share
        people[pid] += share * named.get(enrolment_id, 0)
    return FundedShares(places=dict(places), participants=dict(people))


def costs(enrolments: QuerySet[Enrolment], *, partner_id: int | None = None) -> list[Cost]:
    """Cost per factory and per participant, by currency (budgets are never converted);
    each partnership counts its share of co-funded places (only ``partner_id``'s
    partnerships when given: a brand's dashboard counts its own shares)."""
    shares = funded_shares(enrolments, partner_id=partner_id)
    places = shares.places
    by_currency: dict[str, Cost] = {}
    partnerships = Partnership.objects.filter(pk__in=list(places), factory_quota__gt=0)
    for p in partnerships.order_by("pk").only("budget", "factory_quota", "currency"):
        cost = by_currency.setdefault(p.currency, Cost(currency=p.currency))
        used = min(places[p.pk], Decimal(p.factory_quota))
        cost.places += places[p.pk]
        cost.budget += Decimal(p.budget) * used / p.factory_quota
        cost.participants += shares.participants.get(p.pk, Decimal(0))
        cost.partnerships.append(p.pk)
    for cost in by_currency.values():
        cost.budget = cost.budget.quantize(Decimal("0.01"))
    return sorted(by_currency.values(), key=lambda c: c.currency)


# --- A brand's portfolio --------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    country: str
    listed: int
    enrolled: int
    completed: int

    @property
    def share_enrolled(self) -> float | None:
        return share(self.enrolled, self.listed)

    @property
    def share_completed(self) -> float | None:
        return share(self.completed, self.listed)


def supplier_coverage(
    *, brand_id: int, enrolments: QuerySet[Enrolment], country: str = ""
) -> list[Coverage]:
    """The brand's supplier list by country: suppliers listed, those with a place in
    ``enrolments`` (the brand's own, filtered) and those that completed one."""
    links = BrandSupplier.objects.filter(brand_id=brand_id).on_list()
    if country:
        links = links.filter(factory__country=country)
    enrolled = enrolments.filter(holds_place=True).values("factory_id")
    completed = enrolments.filter(status=Status.COMPLETED).values("factory_id")
    rows = (
        links.order_by()
        .values("factory__country")
        .annotate(
            listed=Count("factory_id", distinct=True),
            enrolled=Count("factory_id", filter=Q(factory_id__in=enrolled), distinct=True),
            completed=Count("factory_id", filter=Q(factory_id__in=completed), distinct=True),
        )
        .values_list("factory__country", "listed", "enrolled", "completed")
    )
    return sorted(
        (Coverage(country=c, listed=n, enrolled=e, completed=d) for c, n, e, d in rows),
        key=lambda row: (-row.listed, row.country),
    )


def partnership_ledgers(scope: Scope, *, brand_id: int) -> list[tuple[Partnership, Ledger]]:
    """The brand's partnerships with their places and budget used (the partners' ledger)."""
    rows = partnerships_with_ledger(scope).filter(partner_id=brand_id)
    return [(p, ledger_of(p)) for p in rows]


@dataclass(frozen=True)
class BrandKPIGroup:
    """One group of ``training.impact`` (shared or not) with its change's spread, computed
    from the very factories the impact rule counts (None: withheld)."""

    figure: Figure
    spread: Spread | None


@dataclass(frozen=True)
class BrandKPI:
    kpi: KPIDefinition
    shared: BrandKPIGroup
    unshared: BrandKPIGroup


def brand_kpi_results(*, brand_id: int) -> list[BrandKPI]:
    """KPI results a brand may see: ``training.impact``'s figures (consent groups apart, at
    least K factories, unshared ones in blocks of K), never filtered (a figure over a subset
    beside one over all would be a difference of two sets)."""

    def group(kpi: KPIDefinition, figure: Figure) -> BrandKPIGroup:
        withheld = figure.average is None
        return BrandKPIGroup(
            # The spread is all the page needs of the values: kept without them, the
            # portfolio's snapshot is a few kilobytes, not a factory's worth of values per KPI.
            figure=dataclasses.replace(figure, values=()),
            spread=None if withheld else spread_of(figure.values, kpi),
        )

    def one(item: KPIImpact) -> BrandKPI:
        return BrandKPI(
            kpi=item.kpi,
            shared=group(item.kpi, item.shared.change),
            unshared=group(item.kpi, item.unshared.change),
        )

    return [one(item) for item in kpi_impact(brand_id=brand_id)]


def k_anonymity() -> int:
    return min_factories()


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in per cent, to one decimal, whole numbers without one (None
    when there is no whole)."""
    if not whole:
        return None
    value = round(100 * part / whole, 1)
    return int(value) if value.is_integer() else value
