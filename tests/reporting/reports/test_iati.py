"""The IATI results export validates against the IATI activity schema 2.03 (copied into
tests/fixtures/iati/ from the IATI-Schemas repository) and carries the report's figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from lxml import etree

from reporting import iati, reports
from tests.conftest import client_for
from tests.reporting.reports.conftest import PERIOD_END, PERIOD_START

pytestmark = pytest.mark.django_db

SCHEMA = Path(__file__).resolve().parents[2] / "fixtures" / "iati" / "iati-activities-schema.xsd"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def _indicator(document, title: str):
    (found,) = document.xpath("//indicator[title/narrative=$t]", t=title)
    return found


def test_a_partnerships_export_validates_and_carries_its_figures(programme, brand_staff, schema):
    response = client_for(brand_staff).post(
        reverse("reporting:partnership_report", args=[programme.partnership.pk]),
        {
            "period_start": PERIOD_START.isoformat(),
            "period_end": PERIOD_END.isoformat(),
            "format": "iati",
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    document = etree.fromstring(response.content)
    schema.assertValid(document)

    counts = reports.headline(programme.partnership, PERIOD_START, PERIOD_END)
    factories = _indicator(document, "Factories in training")
    assert factories.xpath("string(baseline/@value)") == "0"
    assert factories.xpath("string(period/period-start/@iso-date)") == PERIOD_START.isoformat()
    assert factories.xpath("string(period/period-end/@iso-date)") == PERIOD_END.isoformat()
    assert factories.xpath("string(period/target/@value)") == "10"
    assert factories.xpath("string(period/actual/@value)") == str(counts.factories)
    women = _indicator(document, "Women participants")
    assert women.xpath("string(period/actual/@value)") == str(counts.women)

    # KPI figures under the privacy rule: the unshared group's averages, the shared group's
    # single factory withheld (no value, a comment saying why).
    unshared = _indicator(document, "Absenteeism (%), factories that did not share their readings")
    assert unshared.get("measure") == iati.MEASURE_PERCENTAGE
    assert unshared.get("ascending") == "0"
    assert unshared.xpath("string(baseline/@value)") == "11"
    assert unshared.xpath("string(period/actual/@value)") == "9"
    shared = _indicator(document, "Absenteeism (%), factories that shared their readings")
    assert shared.xpath("baseline/@value") == []
    assert shared.xpath("period/actual/@value") == []
    assert "fewer than 3" in shared.xpath("string(period/actual/comment/narrative)")


def test_the_programme_export_is_the_ilos_and_validates(programme, world, ilo_admin, schema):
    query = {"period_start": PERIOD_START.isoformat(), "period_end": PERIOD_END.isoformat()}
    response = client_for(ilo_admin).get(reverse("reporting:programme_iati"), query)
    assert response.status_code == 200
    document = etree.fromstring(response.content)
    schema.assertValid(document)
    identifiers = document.xpath("//iati-activity/iati-identifier/text()")
    assert set(identifiers) == {
        f"{iati.ILO_ORG_REF}-SCORE-{p.pk}" for p in (world.partnership, world.other_partnership)
    }


@pytest.mark.parametrize(
    "persona", ["brand_staff", "factory_manager", "trainer", "other_brand_staff"]
)
def test_only_the_ilo_exports_the_programme(request, programme, persona):
    client = client_for(request.getfixturevalue(persona))
    response = client.get(
        reverse("reporting:programme_iati"),
        {"period_start": PERIOD_START.isoformat(), "period_end": PERIOD_END.isoformat()},
    )
    assert response.status_code == 404


def test_a_bad_programme_period_shows_the_form_again(ilo_admin):
    response = client_for(ilo_admin).get(
        reverse("reporting:programme_iati"), {"period_start": "2026-13-01", "period_end": ""}
    )
    assert response.status_code == 200
    assert 'value="2026-13-01"' in response.text
    assert 'class="errorlist"' in response.text
