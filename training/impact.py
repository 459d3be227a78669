"""KPI figures a funding brand sees across its suppliers, built so that no unshared reading
can be worked out from them (README, "KPI privacy").

1. **One value per factory and KPI**: the baseline of the factory's latest cycle for that
   KPI (the enrolment funded by the brand whose baseline is latest by date) and the latest
   follow-up (by date) of that same enrolment; the change is that follow-up minus that
   baseline. Factories are counted, never readings.
2. **Two groups, never mixed**: factories that shared their readings with this brand
   (``KPIConsent``) and those that did not. No figure covers both, so subtracting the
   shared values, which the brand sees, from a figure leaves nothing.
3. **At least K factories** (``settings.KPI_MIN_FACTORIES``) behind every figure;
   fewer, and the figure is withheld.
4. **Unshared factories count in whole blocks of K**: of n unshared factories reporting
   a baseline, the figures cover the first K·⌊n/K⌋ in the order they first reported a reading
   of the KPI (the others are "held back" until the next block fills); follow-up and change
   cover the first K·⌊f/K⌋ of those with a follow-up. Two figures the brand sees, now or on
   different days, therefore differ by whole blocks of K factories, never by one: a newcomer
   changes nothing until K−1 others join it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db.models import F, Min, QuerySet, Window
from django.db.models.functions import RowNumber

from training.models import KPIConsent, KPIDefinition, KPIReading


@dataclass(frozen=True)
class Figure:
    """An average over ``counted`` factories (None: withheld, fewer than K).

    ``values`` are the counted factories' values (empty when withheld), sorted by value (so
    they tell nothing of which factory is which): other aggregates of the same set (the
    results dashboard's median, quartiles and share improved) obey the same rule by being
    computed from them and nothing else."""

    reporting: int
    counted: int
    average: Decimal | None
    values: tuple[Decimal, ...] = field(default=(), repr=False, compare=False)

    @property
    def held_back(self) -> int:
        return self.reporting - self.counted if self.average is not None else self.reporting


@dataclass(frozen=True)
class GroupFigures:
    baseline: Figure
    follow_up: Figure
    change: Figure

    @property
    def reporting(self) -> int:
        return self.baseline.reporting


@dataclass(frozen=True)
class KPIImpact:
    kpi: KPIDefinition
    shared: GroupFigures
    unshared: GroupFigures


class _FactoryValues(NamedTuple):
    """One factory's values of one KPI."""

    first_pk: int  # the factory's first reading of the KPI: its place in the queue
    baseline_value: Decimal  # of its latest baseline by date
    follow_up_value: Decimal | None  # the latest follow-up by date of that baseline's enrolment
    first_follow_up_pk: int  # that enrolment's first follow-up (0: none)


def min_factories() -> int:
    return int(settings.KPI_MIN_FACTORIES)


def kpi_impact(*, brand_id: int) -> list[KPIImpact]:
    """Per KPI the brand's suppliers report, the figures of both groups (module docstring).
    Four queries whatever the number of readings; the database aggregates the readings, and
    only one row per factory and KPI (and per enrolment and KPI with follow-ups) is read."""
    per_kpi = _factory_values(brand_id)
    if not per_kpi:
        return []
    shared_ids = set(
        KPIConsent.objects.filter(partner_id=brand_id).values_list("factory_id", flat=True)
    )
    kpis = KPIDefinition.objects.in_bulk(list(per_kpi))
    result = [
        KPIImpact(
            kpi=kpis[kpi_id],
            shared=_group([v for f, v in factories.items() if f in shared_ids], in_blocks=False),
            unshared=_group(
                [v for f, v in factories.items() if f not in shared_ids], in_blocks=True
            ),
        )
        for kpi_id, factories in per_kpi.items()
    ]
    return sorted(result, key=lambda item: item.kpi.display_name)


def _factory_values(brand_id: int) -> dict[int, dict[int, _FactoryValues]]:
    """Per KPI with a reading in an enrolment the brand funds, its factories' values: those
    with a baseline (a factory with follow-ups only lists the KPI and counts nowhere).

    Two reads, each aggregated in the database: per enrolment and KPI its latest follow-up
    (with its first one's pk), per factory and KPI its latest baseline (with its first
    baseline's pk); a factory's first reading is the earlier of the two firsts."""
    readings = KPIReading.objects.filter(enrolment__partnership__partner_id=brand_id).order_by()
    per_kpi: dict[int, dict[int, _FactoryValues]] = {}
    follow_ups: dict[tuple[int, int], tuple[Decimal, int]] = {}
    first_follow_up: dict[tuple[int, int], int] = {}  # per KPI and factory
    for enrolment_id, kpi_id, factory_id, value, first_pk in _latest(
        readings.filter(kind=KPIReading.Kind.FOLLOW_UP), [F("enrolment_id"), F("kpi_id")]
    ):
        follow_ups[enrolment_id, kpi_id] = (value, first_pk)
        first = first_follow_up.get((kpi_id, factory_id))
        first_follow_up[kpi_id, factory_id] = first_pk if first is None else min(first, first_pk)
        per_kpi.setdefault(kpi_id, {})
    for enrolment_id, kpi_id, factory_id, value, first_pk in _latest(
        readings.filter(kind=KPIReading.Kind.BASELINE), [F("enrolment__factory_id"), F("kpi_id")]
    ):
        follow_up, follow_up_pk = follow_ups.get((enrolment_id, kpi_id), (None, 0))
        per_kpi.setdefault(kpi_id, {})[factory_id] = _FactoryValues(
            first_pk=min(first_pk, first_follow_up.get((kpi_id, factory_id), first_pk)),
            baseline_value=value,
            follow_up_value=follow_up,
            first_follow_up_pk=follow_up_pk,
        )
    return per_kpi


def _latest(
    readings: QuerySet[KPIReading], partition: list[F]
) -> QuerySet[KPIReading, tuple[int, int, int, Decimal, int]]:
    """Per ``partition`` of ``readings``, its latest reading by (date, pk): (enrolment, KPI,
    factory, value, the partition's first pk)."""
    return (
        readings.annotate(
            place=Window(
                RowNumber(),
                partition_by=partition,
                order_by=[F("measured_on").desc(), F("pk").desc()],
            ),
            first_pk=Window(Min("pk"), partition_by=partition),
        )
        .filter(place=1)
        .values_list("enrolment_id", "kpi_id", "enrolment__factory_id", "value", "first_pk")
    )


def _group(factories: list[_FactoryValues], *, in_blocks: bool) -> GroupFigures:
    k = min_factories()
    # In the order the factories joined (reading ids grow with time): a newcomer comes last.
    ordered = sorted(factories, key=lambda f: f.first_pk)
    counted = _counted(len(ordered), k, in_blocks)
    baseline_set = ordered[:counted]
    baseline = _figure(len(ordered), [f.baseline_value for f in baseline_set], k)
    reporting = sum(1 for f in ordered if f.follow_up_value is not None)
    if in_blocks:
        # Follow-ups only of factories the baseline figure covers, in the order each became
        # one: its first follow-up, or its block's completion if that came later. A factory
        # then always joins at the end, and the set grows by whole blocks only.
        def joined(position: int, f: _FactoryValues) -> tuple[int, int]:
            block_last = ordered[k * (position // k + 1) - 1]
            return (max(f.first_follow_up_pk, block_last.first_pk), f.first_pk)

        candidates = [
            f
            for _key, f in sorted(
                (
                    (joined(i, f), f)
                    for i, f in enumerate(baseline_set)
                    if f.follow_up_value is not None
                ),
                key=lambda item: item[0],
            )
        ]
    else:
        candidates = [f for f in ordered if f.follow_up_value is not None]
    followed = candidates[: _counted(len(candidates), k, in_blocks)]
    follow_up = _figure(reporting, [f.follow_up_value for f in followed], k)
    change = _figure(
        reporting,
        [f.follow_up_value - f.baseline_value for f in followed],  # type: ignore[operator]
        k,
    )
    return GroupFigures(baseline=baseline, follow_up=follow_up, change=change)


def _counted(n: int, k: int, in_blocks: bool) -> int:
    if n < k:
        return 0
    return k * (n // k) if in_blocks else n


def _figure(reporting: int, values: list[Decimal | None], k: int) -> Figure:
    if len(values) < k:
        return Figure(reporting=reporting, counted=0, average=None)
    counted = tuple(v for v in values if v is not None)
    total = sum(counted, Decimal(0))
    return Figure(
        reporting=reporting,
        counted=len(values),
        average=total / len(values),
        values=tuple(sorted(counted)),
    )
