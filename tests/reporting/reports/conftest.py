"""A small partnership with a known history, for the results report and the IATI export
(overrides the dashboards' ``programme`` of tests/reporting/conftest.py here)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from suppliers.services import link_supplier
from tests.factories import FactoryFactory
from training.models import (
    ConsultingVisit,
    Enrolment,
    ImprovementAction,
    KPIConsent,
    KPIDefinition,
    KPIReading,
    Participant,
)
from training.services import enrol_factory

TODAY = datetime.date.today()
PERIOD_START = TODAY - datetime.timedelta(days=90)
PERIOD_END = TODAY


@dataclass
class Programme:
    partnership: object
    enrolments: list[Enrolment]
    ended_before: Enrolment  # withdrawn before the period: not covered


def _at(days_ago: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days_ago)


@pytest.fixture
def programme(world, brand, brand_staff, module_1, trainer) -> Programme:
    """The world's brand A partnership, with five more factories: participants of every
    role and gender, visits in and before the period, one completion in the period, one
    enrolment withdrawn before it, and KPI readings of four factories (one sharing)."""
    partnership = world.partnership
    partnership.factory_quota = 10
    partnership.save(update_fields=["factory_quota"])
    kpi = KPIDefinition.objects.get(code="absenteeism")
    enrolments = [world.enrolment]
    people = [
        ("manager", "woman"),
        ("manager", "man"),
        ("worker", "woman"),
        ("worker", "woman"),
        ("worker", "other"),
    ]
    for n in range(5):
        factory = FactoryFactory(name=f"Report Factory {n}", name_latin="")
        link_supplier(brand=brand, factory=factory, supplier_code=f"R-{n}")
        enrolment = enrol_factory(
            factory=factory, module=module_1, partnership=partnership, enrolled_by=brand_staff
        )
        enrolments.append(enrolment)
        for i, (role, gender) in enumerate(people[: n + 1]):
            Participant.objects.create(
                enrolment=enrolment,
                name=f"P{n}-{i}",
                role=role,
                gender=gender,
                attended_classroom=True if n % 2 == 0 else None,
            )
        ConsultingVisit.objects.create(
            enrolment=enrolment,
            kind="baseline",
            number=1,
            visited_on=TODAY - datetime.timedelta(days=200),
            trainer=trainer,
        )
        for v in range(n % 3):
            ConsultingVisit.objects.create(
                enrolment=enrolment,
                kind="follow_up",
                number=v + 1,
                visited_on=TODAY - datetime.timedelta(days=30 - v),
                trainer=trainer,
            )
        if n == 2:
            ImprovementAction.objects.create(
                enrolment=enrolment, description="5S", owner="EIT", due_date=TODAY
            )
        if n < 4:
            KPIReading.objects.create(
                enrolment=enrolment,
                kpi=kpi,
                kind="baseline",
                value=Decimal(10 + n),
                measured_on=TODAY - datetime.timedelta(days=120),
            )
            KPIReading.objects.create(
                enrolment=enrolment,
                kpi=kpi,
                kind="follow_up",
                value=Decimal(8 + n),
                measured_on=TODAY - datetime.timedelta(days=20),
            )
        if n == 3:
            KPIConsent.objects.create(factory=factory, partner=brand)
    # Made long ago: one completed in the period, one completed before it (not covered).
    Enrolment.objects.filter(pk__in=[e.pk for e in enrolments]).update(created_at=_at(200))
    Enrolment.objects.filter(pk=enrolments[1].pk).update(
        status=Enrolment.Status.COMPLETED, completed_at=_at(10)
    )
    Enrolment.objects.filter(pk=enrolments[2].pk).update(
        status=Enrolment.Status.COMPLETED, completed_at=_at(120)
    )
    Enrolment.objects.filter(pk=enrolments[3].pk).update(status=Enrolment.Status.CONFIRMED)
    ended = enrolments[4]
    Enrolment.objects.filter(pk=ended.pk).update(
        status=Enrolment.Status.WITHDRAWN,
        withdrawal_reason="Closed",
        status_changed_at=_at(100),
    )
    for enrolment in enrolments:
        enrolment.refresh_from_db()
    return Programme(partnership=partnership, enrolments=enrolments, ended_before=ended)
