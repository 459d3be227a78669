"""A small programme for the results figures: two brands, two providers, two countries, two
modules, every enrolment status, participants, workforces and KPI readings, enrolled on
different days. Rows are made by the services where the cycle's own tests cover them;
statuses, dates and readings are set directly (as ``tests.factories.mark_completed`` does),
so that each figure has something to count in every group."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.utils import timezone

from partners.models import Membership, Partner, Partnership
from partners.services import add_member
from suppliers.models import Factory
from suppliers.services import link_supplier
from tests.factories import FactoryFactory, PartnerFactory, PartnershipFactory, UserFactory
from training.models import Cohort, Enrolment, KPIDefinition, KPIReading, Module, Participant
from training.services import certify_trainer, create_cohort, enrol_factory

S = Enrolment.Status
TODAY = datetime.date.today()


@dataclass
class Programme:
    brand: Partner
    other_brand: Partner
    provider: Partner
    other_provider: Partner
    partnership: Partnership
    other_partnership: Partnership
    m1: Module
    m2: Module
    cohort_cn: Cohort
    cohort_tr: Cohort
    productivity: KPIDefinition  # higher is better
    absenteeism: KPIDefinition  # lower is better
    enrolments: list[Enrolment] = field(default_factory=list)
    factories: list[Factory] = field(default_factory=list)


def _at(days_ago: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days_ago)


def _set(enrolment: Enrolment, status: str, *, enrolled_days_ago: int, completed_days_ago=None):
    fields = {"status": status, "created_at": _at(enrolled_days_ago)}
    if status == S.COMPLETED:
        fields["completed_at"] = _at(completed_days_ago or 1)
    if status == S.WITHDRAWN:
        fields["withdrawal_reason"] = "Left the programme"
    Enrolment.objects.filter(pk=enrolment.pk).update(**fields)
    enrolment.refresh_from_db()


def _people(enrolment: Enrolment, *spec: tuple[str, str]) -> None:
    Participant.objects.bulk_create(
        Participant(enrolment=enrolment, name=f"P{i}", role=role, gender=gender)
        for i, (role, gender) in enumerate(spec)
    )


def _kpi(enrolment, kpi, baseline, *follow_ups, measured_days_ago=90):
    KPIReading.objects.create(
        enrolment=enrolment,
        kpi=kpi,
        kind="baseline",
        value=Decimal(baseline),
        measured_on=TODAY - datetime.timedelta(days=measured_days_ago),
    )
    for i, value in enumerate(follow_ups):
        KPIReading.objects.create(
            enrolment=enrolment,
            kpi=kpi,
            kind="follow_up",
            value=Decimal(value),
            measured_on=TODAY - datetime.timedelta(days=measured_days_ago - 10 * (i + 1)),
        )


W, M = Participant.Role.WORKER, Participant.Role.MANAGER
WOMAN, MAN, OTHER = Participant.Gender.WOMAN, Participant.Gender.MAN, Participant.Gender.OTHER


@pytest.fixture
def programme(catalogue, brand, other_brand, provider, trainer, brand_staff) -> Programme:
    m1, m2 = Module.objects.get(code="M1"), Module.objects.get(code="M2")
    other_provider = PartnerFactory(name="Provider Q", kind=Partner.Kind.SERVICE_PROVIDER)
    tr_trainer = UserFactory(email="trainer@provider-q.example.org")
    add_member(partner=other_provider, user=tr_trainer, role=Membership.Role.TRAINER)
    certify_trainer(trainer=tr_trainer, module=m1, certified_on=datetime.date(2024, 1, 1))
    future = TODAY + datetime.timedelta(days=30)
    cohort_cn = create_cohort(
        module=m1, provider=provider, trainer=trainer, venue_city="Dongguan",
        venue_country="CN", language="zh-hans", classroom_start=future,
        classroom_end=future + datetime.timedelta(days=1), capacity=20,
    )  # fmt: skip
    cohort_tr = create_cohort(
        module=m1, provider=other_provider, trainer=tr_trainer, venue_city="Bursa",
        venue_country="TR", language="tr", classroom_start=future,
        classroom_end=future + datetime.timedelta(days=1), capacity=20,
    )  # fmt: skip
    partnership = PartnershipFactory(
        partner=brand, title="A", modules=[m1, m2], factory_quota=10, budget=50_000,
        currency="EUR",
    )  # fmt: skip
    other_partnership = PartnershipFactory(
        partner=other_brand, title="B", modules=[m1], factory_quota=4, budget=20_000,
        currency="USD",
    )  # fmt: skip
    p = Programme(
        brand=brand, other_brand=other_brand, provider=provider, other_provider=other_provider,
        partnership=partnership, other_partnership=other_partnership, m1=m1, m2=m2,
        cohort_cn=cohort_cn, cohort_tr=cohort_tr,
        productivity=KPIDefinition.objects.get(code="labour-productivity"),
        absenteeism=KPIDefinition.objects.get(code="absenteeism"),
    )  # fmt: skip

    def factory(country, workers, women, *, brands=(brand,)):
        f = FactoryFactory(
            country=country, city="Bursa" if country == "TR" else "Dongguan",
            workers_total=workers, workers_women=women,
            language="tr" if country == "TR" else "zh-hans",
        )  # fmt: skip
        for b in brands:
            link_supplier(brand=b, factory=f, supplier_code=f"{b.pk}-{f.pk}")
        p.factories.append(f)
        return f

    def enrol(f, partnership, status, days_ago, *, module=m1, cohort=None, done=None):
        e = enrol_factory(
            factory=f, module=module, partnership=partnership, enrolled_by=None, cohort=cohort
        )
        _set(e, status, enrolled_days_ago=days_ago, completed_days_ago=done)
        p.enrolments.append(e)
        return e

    # Brand A, China: completed (two months), in progress, confirmed, pending, declined.
    a1 = factory("CN", 300, 200)
    e1 = enrol(a1, partnership, S.COMPLETED, 200, cohort=cohort_cn, done=100)
    e1b = enrol(a1, partnership, S.IN_PROGRESS, 20, module=m2)  # a second cycle (M2)
    a2 = factory("CN", 120, 30)
    e2 = enrol(a2, partnership, S.COMPLETED, 150, cohort=cohort_cn, done=40)
    a3 = factory("CN", None, None)  # no workforce reported
    e3 = enrol(a3, partnership, S.IN_PROGRESS, 60, cohort=cohort_cn)
    a4 = factory("CN", 80, 40)
    e4 = enrol(a4, partnership, S.CONFIRMED, 10, cohort=cohort_cn)
    a5 = factory("CN", 500, 250)
    enrol(a5, partnership, S.PENDING, 5)
    a6 = factory("CN", 90, 45)
    enrol(a6, partnership, S.DECLINED, 30)
    factory("CN", 60, 30)  # on the list, never enrolled
    # Brand A, Türkiye: completed with the other provider, withdrawn.
    a8 = factory("TR", 400, 100)
    e8 = enrol(a8, partnership, S.COMPLETED, 120, cohort=cohort_tr, done=40)
    a9 = factory("TR", 50, 10)
    enrol(a9, partnership, S.WITHDRAWN, 90)
    # Brand B, Türkiye, on both lists: completed, in progress.
    b1 = factory("TR", 700, 500, brands=(brand, other_brand))
    f1 = enrol(b1, other_partnership, S.COMPLETED, 100, cohort=cohort_tr, done=10)
    b2 = factory("TR", 40, 20, brands=(other_brand,))
    f2 = enrol(b2, other_partnership, S.IN_PROGRESS, 15, cohort=cohort_tr)

    _people(e1, (M, WOMAN), (M, MAN), (W, WOMAN), (W, WOMAN))
    _people(e1b, (M, MAN), (W, OTHER))
    _people(e2, (M, MAN), (M, MAN), (W, WOMAN), (W, MAN))
    _people(e3, (W, WOMAN))
    _people(e8, (M, WOMAN), (W, MAN), (W, MAN))
    _people(f1, (M, MAN), (W, WOMAN), (W, WOMAN), (W, WOMAN))
    _people(f2, (M, WOMAN))
    # KPIs. a1 has two cycles: its M2 baseline is later, and that cycle has no follow-up.
    _kpi(e1, p.productivity, "10", "12", "14", measured_days_ago=190)
    _kpi(e1b, p.productivity, "15", measured_days_ago=15)
    _kpi(e2, p.productivity, "20", "18")
    _kpi(e3, p.productivity, "8", "11")
    _kpi(e8, p.productivity, "30", "36")
    _kpi(f1, p.productivity, "5", "5")
    _kpi(e1, p.absenteeism, "6", "4", measured_days_ago=190)
    _kpi(e2, p.absenteeism, "3", "5")
    _kpi(e8, p.absenteeism, "10", "7")
    _kpi(f1, p.absenteeism, "4", "2")
    _kpi(e4, p.absenteeism, "9")
    return p
