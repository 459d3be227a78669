"""Each figure of the results dashboards against an independent recount: plain Python over
the rows (every enrolment, participant, reading and partnership read once), never the
figure's own query. Runs on SQLite (the median computed in Python) and on PostgreSQL
(``percentile_cont``)."""

from __future__ import annotations

import datetime
import statistics
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from partners.models import Partnership
from reporting import figures
from score_portal.scope import scope_of
from suppliers.models import BrandSupplier, Factory
from training.filters import EnrolmentFilter
from training.models import CoFunding, Enrolment, KPIReading, Participant

pytestmark = pytest.mark.django_db

S = Enrolment.Status
REACHED = {S.CONFIRMED, S.IN_PROGRESS, S.COMPLETED}
PLACE = {S.PENDING, S.CONFIRMED, S.IN_PROGRESS, S.COMPLETED}


def _rows(keep=lambda e: True):
    return [e for e in Enrolment.objects.select_related("factory", "cohort") if keep(e)]


def _ids(rows):
    return Enrolment.objects.filter(pk__in=[e.pk for e in rows])


def recount(rows):
    """Every figure, recomputed from the enrolment rows in plain Python."""
    reached = [e for e in rows if e.status in REACHED]
    reached_factories = {e.factory_id for e in reached}
    reached_ids = {e.pk for e in reached}
    people = [p for p in Participant.objects.all() if p.enrolment_id in reached_ids]
    factories = [f for f in Factory.objects.all() if f.pk in reached_factories]
    months = Counter(
        e.completed_at.astimezone(datetime.UTC).date().replace(day=1)
        for e in rows
        if e.status == S.COMPLETED
    )
    return {
        "reached": len(reached_factories),
        "stages": {
            "enrolled": len(rows),
            "confirmed": len(reached),
            "started": sum(e.status in (S.IN_PROGRESS, S.COMPLETED) for e in rows),
            "completed": sum(e.status == S.COMPLETED for e in rows),
            "declined": sum(e.status == S.DECLINED for e in rows),
            "withdrawn": sum(e.status == S.WITHDRAWN for e in rows),
        },
        "months": months,
        "people": Counter((p.role, p.gender) for p in people),
        "workers": sum(f.workers_total or 0 for f in factories),
        "women_workers": sum(f.workers_women or 0 for f in factories),
        "with_workforce": sum(f.workers_total is not None for f in factories),
        "trainers": len({e.cohort.trainer_id for e in reached if e.cohort_id}),
    }


def recount_kpis(rows):
    """Per KPI: (factories with a baseline, changes of those with a follow-up too)."""
    ids = {e.pk: e for e in rows}
    readings = [r for r in KPIReading.objects.all() if r.enrolment_id in ids]
    latest_baseline = {}
    for r in readings:
        if r.kind != "baseline":
            continue
        key = (ids[r.enrolment_id].factory_id, r.kpi_id)
        if key not in latest_baseline or (r.measured_on, r.pk) > (
            latest_baseline[key].measured_on,
            latest_baseline[key].pk,
        ):
            latest_baseline[key] = r
    result = {}
    for (_factory, kpi_id), base in latest_baseline.items():
        follow_ups = [
            r
            for r in readings
            if r.kind == "follow_up" and r.enrolment_id == base.enrolment_id and r.kpi_id == kpi_id
        ]
        entry = result.setdefault(kpi_id, [0, []])
        entry[0] += 1
        if follow_ups:
            last = max(follow_ups, key=lambda r: (r.measured_on, r.pk))
            entry[1].append(last.value - base.value)
    return result


def _check(rows, enrolments):
    expected = recount(rows)
    assert figures.factories_reached(enrolments) == expected["reached"]
    assert {s.key: s.count for s in figures.funnel(enrolments)} == expected["stages"]
    months = figures.completions_per_month(enrolments)
    assert {m.first_day: m.count for m in months if m.count} == dict(expected["months"])
    assert sum(m.count for m in months) == expected["stages"]["completed"]
    people = figures.participants(enrolments)
    assert people.cells == dict(expected["people"])
    total = sum(expected["people"].values())
    women = sum(n for (_r, g), n in expected["people"].items() if g == "woman")
    workers = sum(n for (r, _g), n in expected["people"].items() if r == "worker")
    assert people.total == total
    assert people.share_women == (figures.share(women, total))
    assert people.share_workers == (figures.share(workers, total))
    workforce = figures.workforce(enrolments)
    assert workforce.workers == expected["workers"]
    assert workforce.women == expected["women_workers"]
    assert workforce.with_workforce == expected["with_workforce"]
    assert figures.active_trainers(enrolments) == expected["trainers"]
    _check_kpis(rows, enrolments)
    _check_costs(rows, enrolments)
    return expected


def _check_kpis(rows, enrolments):
    expected = recount_kpis(rows)
    found = {item.kpi.pk: item for item in figures.kpi_changes(enrolments)}
    assert set(found) == set(expected)
    for kpi_id, (with_baseline, changes) in expected.items():
        item = found[kpi_id]
        assert item.with_baseline == with_baseline
        assert item.spread.paired == len(changes)
        if not changes:
            assert item.spread.median is None
            continue
        assert item.spread.median == pytest.approx(statistics.median(changes))
        if len(changes) > 1:
            q1, _q2, q3 = statistics.quantiles(changes, n=4, method="inclusive")
            assert item.spread.q1 == pytest.approx(q1)
            assert item.spread.q3 == pytest.approx(q3)
        up = item.kpi.direction == "up"
        improved = sum(1 for c in changes if (c > 0 if up else c < 0))
        assert item.spread.improved == improved


def recount_costs(rows, partner_id=None):
    """Cost per currency, recomputed row by row: each place-holding enrolment's funders with
    their shares (the lead's ``lead_share``, the co-funders' shares in force); a partnership's
    places are, per factory, one if it funds that factory alone in some enrolment, else the
    sum of its shares; its participants are each enrolment's people × its share."""
    shares = defaultdict(lambda: defaultdict(list))
    people = defaultdict(Decimal)
    named = Counter(p.enrolment_id for p in Participant.objects.all())
    in_force = defaultdict(list)
    for c in CoFunding.objects.filter(status="agreed").select_related("partnership"):
        in_force[c.enrolment_id].append((c.partnership, c.share))
    for e in rows:
        if e.status not in PLACE:
            continue
        for partnership, share in [(e.partnership, e.lead_share), *in_force[e.pk]]:
            if partner_id is not None and partnership.partner_id != partner_id:
                continue
            shares[partnership.pk][e.factory_id].append(share)
            people[partnership.pk] += share * named[e.pk]
    expected = {}
    for partnership in Partnership.objects.filter(pk__in=list(shares)):
        if partnership.factory_quota <= 0:
            continue
        n = sum(
            Decimal(1) if Decimal(1) in parts else sum(parts)
            for parts in shares[partnership.pk].values()
        )
        cost = expected.setdefault(partnership.currency, [Decimal(0), Decimal(0), Decimal(0)])
        cost[0] += n
        cost[1] += (
            partnership.budget * min(n, partnership.factory_quota) / partnership.factory_quota
        )
        cost[2] += people[partnership.pk]
    return expected


def _check_costs(rows, enrolments, partner_id=None):
    expected = recount_costs(rows, partner_id)
    found = {c.currency: c for c in figures.costs(enrolments, partner_id=partner_id)}
    assert set(found) == set(expected)
    for currency, (n, budget, participants) in expected.items():
        assert found[currency].places == n
        assert found[currency].budget == budget.quantize(Decimal("0.01"))
        assert found[currency].participants == participants
        assert found[currency].per_factory == (budget / n).quantize(Decimal("0.01"))
        if participants:
            assert found[currency].per_participant == (budget / participants).quantize(
                Decimal("0.01")
            )
    return expected


def test_every_figure_matches_a_recount_of_the_whole_programme(programme):
    expected = _check(_rows(), Enrolment.objects.all())
    # The world has something in every group, so the comparisons above mean something.
    assert expected["reached"] == 7
    assert all(expected["stages"].values())
    assert len(expected["months"]) >= 3
    kpis = {item.kpi.code: item for item in figures.kpi_changes(Enrolment.objects.all())}
    # a1's latest cycle (M2) has no follow-up: it counts with a baseline, not with a change.
    productivity = kpis["labour-productivity"]
    assert (productivity.with_baseline, productivity.spread.paired) == (5, 4)
    # Changes 2 (a2: 18-20 = -2), 3, 6, 0 → sorted -2, 0, 3, 6: median 1.5, 2 improved.
    assert productivity.spread.median == Decimal("1.5")
    assert productivity.spread.improved == 2
    # Absenteeism: lower is better; changes -2, +2, -3, -2 → 3 improved.
    assert kpis["absenteeism"].spread.improved == 3
    assert kpis["absenteeism"].with_baseline == 5


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ({"country": "TR"}, lambda e, p: e.factory.country == "TR"),
        ({"module": "M2"}, lambda e, p: e.module_id == p.m2.pk),
        ({"partner": "other"}, lambda e, p: e.partnership_id == p.other_partnership.pk),
        (
            {"provider": "other"},
            lambda e, p: e.cohort_id is not None and e.cohort.provider_id == p.other_provider.pk,
        ),
        (
            {"enrolled_from": 100, "enrolled_to": 10},
            lambda e, p: (
                timezone.localdate() - datetime.timedelta(days=100)
                <= timezone.localtime(e.created_at).date()
                <= timezone.localdate() - datetime.timedelta(days=10)
            ),
        ),
    ],
    ids=["country", "module", "partner", "provider", "period"],
)
def test_filters_select_what_a_recount_selects(programme, ilo_admin, query, keep):
    values = {}
    for key, value in query.items():
        if key == "module":
            value = str(programme.m2.pk)
        elif key == "partner":
            value = str(programme.other_brand.pk)
        elif key == "provider":
            value = str(programme.other_provider.pk)
        elif key.startswith("enrolled_"):
            value = (timezone.localdate() - datetime.timedelta(days=value)).isoformat()
        values[key] = value
    enrolment_filter = EnrolmentFilter(
        values, queryset=Enrolment.objects.all(), scope=scope_of(ilo_admin)
    )
    assert enrolment_filter.is_valid(), enrolment_filter.errors
    rows = _rows(lambda e: keep(e, programme))
    assert rows and len(rows) < len(_rows())
    assert set(enrolment_filter.qs.values_list("pk", flat=True)) == {e.pk for e in rows}
    _check(rows, enrolment_filter.qs)


def test_a_brands_figures_count_only_what_it_funds(programme):
    brand = programme.brand
    rows = _rows(lambda e: e.partnership.partner_id == brand.pk)
    _check(rows, Enrolment.objects.filter(partnership__partner=brand))


def test_supplier_coverage_matches_a_recount_by_country(programme):
    brand = programme.brand
    funded = Enrolment.objects.filter(partnership__partner=brand)
    rows = _rows(lambda e: e.partnership.partner_id == brand.pk)
    listed = defaultdict(set)
    for link in BrandSupplier.objects.filter(brand=brand, ended_at=None).select_related("factory"):
        listed[link.factory.country.code].add(link.factory_id)
    enrolled = {e.factory_id for e in rows if e.status in PLACE}
    completed = {e.factory_id for e in rows if e.status == S.COMPLETED}
    found = {
        row.country: row for row in figures.supplier_coverage(brand_id=brand.pk, enrolments=funded)
    }
    assert set(found) == set(listed) == {"CN", "TR"}
    for country, factories in listed.items():
        assert found[country].listed == len(factories)
        assert found[country].enrolled == len(factories & enrolled)
        assert found[country].completed == len(factories & completed)
    # b1 is on brand A's list but trained with brand B's money: not brand A's coverage.
    assert found["TR"].listed == 3 and found["TR"].enrolled == 1


def test_percentile_is_postgresqls_percentile_cont():
    values = [Decimal(v) for v in ("1", "2", "4", "8")]
    assert figures.percentile(values, Decimal("0.5")) == Decimal("3")
    assert figures.percentile(values, Decimal("0.25")) == Decimal("1.75")
    assert figures.percentile([Decimal(5)], Decimal("0.75")) == Decimal(5)
    assert figures.percentile([], Decimal("0.5")) is None


def test_the_figures_cost_the_same_queries_however_many_rows(
    programme, django_assert_max_num_queries
):
    enrolments = Enrolment.objects.all()
    with django_assert_max_num_queries(14):
        figures.factories_reached(enrolments)
        figures.funnel(enrolments)
        figures.completions_per_month(enrolments)
        figures.participants(enrolments)
        figures.workforce(enrolments)
        figures.active_trainers(enrolments)
        figures.kpi_changes(enrolments)
        figures.costs(enrolments)


# --- Co-funding (README, "Co-funding") ------------------------------------------------------


@pytest.fixture
def cofunded(programme, brand_staff, other_brand_staff):
    """Brand B co-funds two of brand A's enrolments: a4's (confirmed) at 50 %, a3's (in
    progress, one participant) at 30 %."""
    from suppliers.services import link_supplier
    from training.services import cofunding

    e3, e4 = programme.enrolments[3], programme.enrolments[4]
    for enrolment, share in ((e4, "0.50"), (e3, "0.30")):
        link_supplier(brand=programme.other_brand, factory=enrolment.factory, supplier_code="")
        proposal = cofunding.propose_cofunding(
            enrolment=enrolment,
            partnership=programme.other_partnership,
            share=Decimal(share),
            actor=other_brand_staff,
        )
        cofunding.agree_cofunding(cofunding=proposal, actor=brand_staff)
    return programme


def test_cofunded_places_and_budgets_match_a_recount(cofunded):
    from partners.selectors import ledger_of

    rows = _rows()
    expected = _check(rows, Enrolment.objects.all())
    # No factory counted twice, whoever pays: the same seven factories are reached.
    assert expected["reached"] == 7
    costs = recount_costs(rows)
    # A: a1..a5 and a8 whole except a3 (0.7) and a4 (0.5) = 4 + 1.2; B: 2 + 0.8.
    assert costs["EUR"][0] == Decimal("5.20")
    assert costs["USD"][0] == Decimal("2.80")
    # The participant of a3 is shared 0.7 / 0.3.
    assert costs["USD"][2] == 5 + Decimal("0.30")
    # The ledger counts the same places, the whole partnership (not a period) over.
    assert ledger_of(cofunded.partnership).funded == Decimal("5.20")
    assert ledger_of(cofunded.other_partnership).funded == Decimal("2.80")
    assert ledger_of(cofunded.other_partnership).budget_committed == Decimal("14000.00")


def test_a_cofunders_dashboard_counts_its_share_only(cofunded):
    b = cofunded.other_brand
    funded = Enrolment.objects.funded_by(b.pk)
    rows = _rows(lambda e: e.pk in set(funded.values_list("pk", flat=True)))
    assert len(rows) == 4  # its own two and the two it co-funds
    _check(rows, funded)  # every other figure: of the enrolments it (co-)funds
    expected = _check_costs(rows, funded, partner_id=b.pk)
    assert set(expected) == {"USD"}  # A's euros are not B's cost
    assert expected["USD"][0] == Decimal("2.80")


def test_the_funding_partner_filter_includes_cofunded_enrolments(cofunded, ilo_admin):
    enrolment_filter = EnrolmentFilter(
        {"partner": str(cofunded.other_brand.pk)},
        queryset=Enrolment.objects.all(),
        scope=scope_of(ilo_admin),
    )
    assert enrolment_filter.is_valid()
    assert enrolment_filter.qs.count() == 4
    _check_costs(_rows(), enrolment_filter.qs, partner_id=cofunded.other_brand.pk)
