"""KPI privacy that survives arithmetic: nothing a funding brand sees on the impact page lets
it work out a reading a factory did not share with it.

Each test sets up what the brand can see, then changes one unshared factory's reading (or
adds one unshared factory) and checks that the page the brand gets does not change: if it
stays the same whatever the hidden value, no subtraction can find that value.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from suppliers.services import link_supplier
from tests.conftest import client_for
from tests.factories import FactoryFactory, PartnershipFactory
from training.impact import kpi_impact
from training.models import Enrolment, KPIConsent, KPIDefinition, KPIReading
from training.services import enrol_factory

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today()


class Suppliers:
    """The brand's reporting factories: add one with its readings, share it or not."""

    def __init__(self, brand, brand_staff, module):
        self.brand, self.staff, self.module = brand, brand_staff, module
        self.partnership = PartnershipFactory(
            partner=brand, title="KPI programme", modules=[module], factory_quota=100
        )
        self.kpi = KPIDefinition.objects.get(code="absenteeism")

    def add(self, baseline, *follow_ups, shared=False, kpi=None):
        factory = FactoryFactory()
        link_supplier(brand=self.brand, factory=factory, supplier_code=f"K-{factory.pk}")
        enrolment = enrol_factory(
            factory=factory,
            module=self.module,
            partnership=self.partnership,
            enrolled_by=self.staff,
        )
        kpi = kpi or self.kpi
        reading = KPIReading.objects.create(
            enrolment=enrolment,
            kpi=kpi,
            kind="baseline",
            value=Decimal(baseline),
            measured_on=TODAY - datetime.timedelta(days=60),
        )
        for days_ago, value in follow_ups:
            KPIReading.objects.create(
                enrolment=enrolment,
                kpi=kpi,
                kind="follow_up",
                value=Decimal(value),
                measured_on=TODAY - datetime.timedelta(days=days_ago),
            )
        if shared:
            KPIConsent.objects.create(factory=factory, partner=self.brand)
        return reading

    def page(self):
        """What the brand sees: the impact page's table, as text."""
        response = client_for(self.staff).get(reverse("training:impact"))
        assert response.status_code == 200
        match = re.search(r"<table class=\"table impact\">.*?</table>", response.text, re.S)
        return match.group(0) if match else response.text


@pytest.fixture
def suppliers(brand, brand_staff, module_1):
    return Suppliers(brand, brand_staff, module_1)


def _hidden_value_changes_nothing(suppliers, reading, *values):
    """The page is the same whatever ``reading``'s value: it cannot be derived."""
    pages = set()
    for value in values:
        KPIReading.objects.filter(pk=reading.pk).update(value=Decimal(value))
        pages.add(suppliers.page())
    assert len(pages) == 1, "an unshared reading changes what the brand sees"


def test_one_factory_reporting_shows_no_average(suppliers):
    hidden = suppliers.add("9.5", (10, "7"))
    page = suppliers.page()
    assert "9.50" not in page and "9.5" not in page and "7.00" not in page
    _hidden_value_changes_nothing(suppliers, hidden, "9.5", "40", "0")


def test_one_shared_and_one_unshared(suppliers):
    suppliers.add("4", (10, "3"), shared=True)
    hidden = suppliers.add("12", (10, "9"))
    _hidden_value_changes_nothing(suppliers, hidden, "12", "30")


def test_k_minus_one_unshared_beside_shared_ones(suppliers, settings):
    assert settings.KPI_MIN_FACTORIES == 3
    for value in ("2", "4", "6", "8"):
        suppliers.add(value, (10, "1"), shared=True)
    hidden = suppliers.add("20", (10, "15"))
    suppliers.add("22", (10, "16"))
    page = suppliers.page()
    assert "5.00" in page  # the shared factories' baseline average: 4 factories
    # No figure mixes shared and unshared values: the unshared pair stays hidden.
    _hidden_value_changes_nothing(suppliers, hidden, "20", "50", "0")


def test_a_newcomer_changes_nothing_until_the_next_block_fills(suppliers):
    """A brand that saw the figure over N factories and comes back when N+1 report cannot
    subtract: the newcomer is held back until K−1 others join it."""
    for value in ("10", "20", "30"):
        suppliers.add(value, (10, "5"))
    before = suppliers.page()
    assert "20.00" in before  # three unshared factories: their average shows
    newcomer = suppliers.add("90", (10, "70"))
    figure = kpi_impact(brand_id=suppliers.brand.pk)[0].unshared.baseline
    assert (figure.reporting, figure.counted, figure.average) == (4, 3, 20)
    assert "20.00" in suppliers.page()
    _hidden_value_changes_nothing(suppliers, newcomer, "90", "1", "55")
    # Two more complete the block: the average now covers six factories, never four or five.
    suppliers.add("40", (10, "5"))
    assert kpi_impact(brand_id=suppliers.brand.pk)[0].unshared.baseline.counted == 3
    suppliers.add("50", (10, "5"))
    figure = kpi_impact(brand_id=suppliers.brand.pk)[0].unshared.baseline
    assert (figure.counted, figure.average) == (6, Decimal(10 + 20 + 30 + 55 + 40 + 50) / 6)


def test_figures_only_ever_cover_whole_blocks(suppliers):
    values = ["3", "5", "7", "11", "13", "17", "19"]
    for n, value in enumerate(values, start=1):
        suppliers.add(value, (10, "1"))
        figure = kpi_impact(brand_id=suppliers.brand.pk)[0].unshared.baseline
        assert figure.counted == 3 * (n // 3)
        assert figure.held_back == n - 3 * (n // 3)


def test_follow_up_is_held_back_with_its_factory(suppliers):
    """Follow-up and change cover whole blocks too: a fourth factory's first follow-up
    does not move them."""
    for value in ("10", "20", "30", "40", "50", "60"):
        suppliers.add(value)
    readings = list(Enrolment.objects.filter(partnership=suppliers.partnership))
    for enrolment in readings[:3]:
        KPIReading.objects.create(
            enrolment=enrolment, kpi=suppliers.kpi, kind="follow_up", value=5, measured_on=TODAY
        )
    before = suppliers.page()
    fourth = KPIReading.objects.create(
        enrolment=readings[3], kpi=suppliers.kpi, kind="follow_up", value=7, measured_on=TODAY
    )
    after = suppliers.page()
    # Only the count of factories reporting a follow-up may change, not a figure.
    assert re.sub(r"\d+ factor(y|ies)", "", before) == re.sub(r"\d+ factor(y|ies)", "", after)
    _hidden_value_changes_nothing(suppliers, fourth, "7", "99")


def test_follow_up_average_counts_factories_not_readings(suppliers):
    # One factory with three follow-ups, two with one each: three factories, not five readings.
    suppliers.add("10", (30, "100"), (20, "90"), (10, "6"))  # latest by date: 6
    suppliers.add("10", (10, "9"))
    suppliers.add("10", (10, "12"))
    impact = kpi_impact(brand_id=suppliers.brand.pk)[0]
    assert impact.unshared.follow_up.counted == 3
    assert impact.unshared.follow_up.average == Decimal(9)  # (6 + 9 + 12) / 3
    assert impact.unshared.change.average == Decimal(-1)


def test_latest_follow_up_is_by_date_not_by_entry(suppliers):
    reading = suppliers.add("10", (5, "4"))
    KPIReading.objects.create(  # entered later, measured earlier
        enrolment=reading.enrolment,
        kpi=suppliers.kpi,
        kind="follow_up",
        value=Decimal("50"),
        measured_on=TODAY - datetime.timedelta(days=20),
    )
    suppliers.add("10", (5, "4"))
    suppliers.add("10", (5, "4"))
    assert kpi_impact(brand_id=suppliers.brand.pk)[0].unshared.follow_up.average == 4


def test_shared_and_unshared_groups_are_never_added_up(suppliers):
    for value in ("1", "2", "3"):
        suppliers.add(value, shared=True)
    for value in ("10", "20", "30"):
        suppliers.add(value)
    impact = kpi_impact(brand_id=suppliers.brand.pk)[0]
    assert impact.shared.baseline.average == 2
    assert impact.unshared.baseline.average == 20
    assert "11.00" not in suppliers.page()  # the average over all six would be 11


def test_consent_for_another_brand_does_not_count(suppliers, other_brand):
    hidden = suppliers.add("12")
    KPIConsent.objects.create(factory=hidden.enrolment.factory, partner=other_brand)
    impact = kpi_impact(brand_id=suppliers.brand.pk)[0]
    assert impact.shared.baseline.reporting == 0
    assert impact.unshared.baseline.reporting == 1


def test_another_brands_readings_are_not_counted(suppliers, other_brand, brand_staff):
    others = Suppliers(other_brand, brand_staff, suppliers.module)
    for value in ("1", "2", "3"):
        others.add(value)
    assert kpi_impact(brand_id=suppliers.brand.pk) == []


def test_threshold_is_a_setting(suppliers, settings):
    settings.KPI_MIN_FACTORIES = 2
    suppliers.add("10")
    suppliers.add("20")
    assert kpi_impact(brand_id=suppliers.brand.pk)[0].unshared.baseline.average == 15
    settings.KPI_MIN_FACTORIES = 5
    assert kpi_impact(brand_id=suppliers.brand.pk)[0].unshared.baseline.average is None
