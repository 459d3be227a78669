"""``training.impact.kpi_impact`` computed in the database: the same figures as a plain
recomputation from every reading, on seeded random data, and a constant number of queries
whatever the number of readings."""

import datetime
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import FactoryFactory, PartnershipFactory
from training.impact import kpi_impact
from training.models import Enrolment, KPIConsent, KPIDefinition, KPIReading, Module

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()
KPI_CODES = ("absenteeism", "defect-rate")


def _day(rng: random.Random) -> datetime.date:
    # Few distinct days, so that readings often share a date and the pk decides "latest".
    return TODAY - datetime.timedelta(days=rng.randrange(0, 12) * 10)


def _enrolments(rng, partnership, other_partnership, modules, n_factories):
    """Each factory has one to three cycles (a withdrawn one beside an active one in the same
    module, or in other modules), some funded by another brand."""
    enrolments = []
    for _ in range(n_factories):
        factory = FactoryFactory()
        for index in range(rng.randint(1, 3)):
            withdrawn = index == 0 and rng.random() < 0.3
            enrolments.append(
                Enrolment.objects.create(
                    factory=factory,
                    module=modules[0] if withdrawn else modules[index],
                    partnership=other_partnership if rng.random() < 0.15 else partnership,
                    status="withdrawn" if withdrawn else "in_progress",
                    withdrawal_reason="Moved to another cohort." if withdrawn else "",
                )
            )
    return enrolments


def _readings(rng, enrolments, kpis, *, baselines=True):
    """Baselines and follow-ups in a random order of entry (pk order is not date order), some
    follow-ups without a baseline (records stored before the rules)."""
    planned = []
    for enrolment in enrolments:
        for kpi in kpis:
            if rng.random() < 0.2:
                continue
            if baselines and rng.random() < 0.9:
                planned.append((enrolment, kpi, "baseline"))
            planned.extend((enrolment, kpi, "follow_up") for _ in range(rng.randint(0, 3)))
    rng.shuffle(planned)
    for enrolment, kpi, kind in planned:
        KPIReading.objects.create(
            enrolment=enrolment,
            kpi=kpi,
            kind=kind,
            value=Decimal(rng.randint(0, 100_000)) / 1000,
            measured_on=_day(rng),
        )


def _recomputed(brand, k):
    """The rules of the README ("KPI privacy"), applied to every reading one by one."""
    readings = list(
        KPIReading.objects.filter(enrolment__partnership__partner=brand).select_related("enrolment")
    )
    shared = set(KPIConsent.objects.filter(partner=brand).values_list("factory_id", flat=True))

    def latest(rows):
        return max(rows, key=lambda r: (r.measured_on, r.pk))

    result = {}
    for kpi_id in {r.kpi_id for r in readings}:
        of_kpi = [r for r in readings if r.kpi_id == kpi_id]
        groups = {True: [], False: []}
        for factory_id in {r.enrolment.factory_id for r in of_kpi}:
            mine = [r for r in of_kpi if r.enrolment.factory_id == factory_id]
            baselines = [r for r in mine if r.kind == "baseline"]
            if not baselines:
                continue
            baseline = latest(baselines)
            follow_ups = [
                r for r in mine if r.kind == "follow_up" and r.enrolment_id == baseline.enrolment_id
            ]
            groups[factory_id in shared].append(
                {
                    "joined": min(r.pk for r in mine),
                    "baseline": baseline.value,
                    "follow_up": latest(follow_ups).value if follow_ups else None,
                    "first_follow_up": min((r.pk for r in follow_ups), default=None),
                }
            )
        result[kpi_id] = {
            "shared": _recomputed_group(groups[True], k, blocks=False),
            "unshared": _recomputed_group(groups[False], k, blocks=True),
        }
    return result


def _recomputed_group(factories, k, *, blocks):
    def covered(items):
        if len(items) < k:
            return []
        return items[: len(items) - len(items) % k] if blocks else items

    def figure(reporting, values):
        if not values:
            return (reporting, 0, None, ())
        return (reporting, len(values), sum(values) / len(values), tuple(sorted(values)))

    queue = sorted(factories, key=lambda f: f["joined"])
    in_baseline = covered(queue)
    with_follow_up = [f for f in queue if f["follow_up"] is not None]
    if blocks:
        # A factory joins the follow-up queue at its first follow-up, or when its block of
        # the baseline queue filled, whichever came later.
        def joins(position, f):
            block_filled = in_baseline[position - position % k + k - 1]["joined"]
            return (max(f["first_follow_up"], block_filled), f["joined"])

        follow_up_queue = [
            f
            for _, f in sorted(
                ((joins(i, f), f) for i, f in enumerate(in_baseline) if f["follow_up"] is not None),
                key=lambda pair: pair[0],
            )
        ]
    else:
        follow_up_queue = with_follow_up
    in_follow_up = covered(follow_up_queue)
    return {
        "baseline": figure(len(queue), [f["baseline"] for f in in_baseline]),
        "follow_up": figure(len(with_follow_up), [f["follow_up"] for f in in_follow_up]),
        "change": figure(
            len(with_follow_up), [f["follow_up"] - f["baseline"] for f in in_follow_up]
        ),
    }


def _as_computed(brand):
    return {
        item.kpi.pk: {
            group: {
                name: (figure.reporting, figure.counted, figure.average, figure.values)
                for name, figure in (
                    ("baseline", figures.baseline),
                    ("follow_up", figures.follow_up),
                    ("change", figures.change),
                )
            }
            for group, figures in (("shared", item.shared), ("unshared", item.unshared))
        }
        for item in kpi_impact(brand_id=brand.pk)
    }


@pytest.fixture
def world(brand, other_brand, catalogue):
    modules = list(Module.objects.order_by("code")[:3])
    return {
        "partnership": PartnershipFactory(partner=brand, factory_quota=500),
        "other_partnership": PartnershipFactory(partner=other_brand, factory_quota=500),
        "modules": modules,
        "kpis": list(KPIDefinition.objects.filter(code__in=KPI_CODES)),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("k", [2, 3])
def test_figures_are_those_of_every_reading_recomputed(
    world, brand, other_brand, settings, seed, k
):
    settings.KPI_MIN_FACTORIES = k
    rng = random.Random(seed)
    enrolments = _enrolments(
        rng, world["partnership"], world["other_partnership"], world["modules"], 24
    )
    _readings(rng, enrolments, world["kpis"])
    for factory_id in sorted({e.factory_id for e in enrolments}):
        for partner in (brand, other_brand):  # consent to the other brand must not count
            if rng.random() < 0.35:
                KPIConsent.objects.create(factory_id=factory_id, partner=partner)
    expected = _recomputed(brand, k)
    assert len(expected) == len(KPI_CODES)
    assert any(f["unshared"]["change"][2] is not None for f in expected.values())
    assert _as_computed(brand) == expected


def test_the_number_of_queries_does_not_grow_with_the_readings(world, brand):
    rng = random.Random(7)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            kpi_impact(brand_id=brand.pk)
        return len(captured)

    funders = (world["partnership"], world["other_partnership"], world["modules"])
    enrolments = _enrolments(rng, *funders, 5)
    _readings(rng, enrolments, world["kpis"])
    few = KPIReading.objects.count()
    assert queries() == 4  # the latest follow-ups and baselines, the consents, the KPIs
    # Ten times the factories, and more follow-ups for the first ones.
    _readings(rng, _enrolments(rng, *funders, 50), world["kpis"])
    _readings(rng, enrolments, world["kpis"], baselines=False)
    assert KPIReading.objects.count() > 10 * few
    assert queries() == 4
