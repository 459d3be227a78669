import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import client_for
from tests.factories import FactoryFactory
from tests.tenancy import status_for
from training.models import KPIDefinition, KPIReading
from training.services import enrol_factory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("ilo_admin", 200),
        ("brand_staff", 200),  # brand A funds it
        ("other_brand_staff", 404),
        ("factory_manager", 200),
        ("other_factory_manager", 404),
        ("trainer", 200),
        ("provider_staff", 200),
        (None, 302),
    ],
)
def test_enrolment_detail_access(request, world, persona, expected):
    url = reverse("training:enrolment_detail", args=[world.enrolment.pk])
    assert status_for(request, persona, url) == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("ilo_admin", 200),
        ("trainer", 200),
        ("provider_staff", 200),
        ("brand_staff", 404),
        ("other_brand_staff", 404),
        ("factory_manager", 404),
        (None, 302),
    ],
)
def test_cohort_detail_access(request, world, persona, expected):
    url = reverse("training:cohort_detail", args=[world.cohort.pk])
    assert status_for(request, persona, url) == expected


@pytest.mark.parametrize("persona", ["brand_staff", "factory_manager", "trainer", "ilo_admin"])
def test_module_catalogue_is_open_to_every_signed_in_person(request, world, persona):
    assert status_for(request, persona, reverse("training:module_list")) == 200


def test_module_catalogue_needs_sign_in(db):
    assert client_for(None).get(reverse("training:module_list")).status_code == 302


def test_enrolment_list_is_scoped(world, brand_staff, other_brand_staff):
    own = client_for(brand_staff).get(reverse("training:enrolment_list")).text
    assert world.factory.name in own
    assert world.other_factory.name not in own
    other = client_for(other_brand_staff).get(reverse("training:enrolment_list")).text
    assert world.other_factory.name in other
    assert world.factory.name not in other


def test_kpi_readings_belong_to_the_factory(world, brand_staff, factory_manager):
    kpi = KPIDefinition.objects.get(code="absenteeism")
    KPIReading.objects.create(
        enrolment=world.enrolment, kpi=kpi, kind="baseline", value="7.25", measured_on="2026-01-10"
    )
    url = world.enrolment.get_absolute_url()
    assert "7.25" in client_for(factory_manager).get(url).text
    # The funding brand sees the enrolment, not the factory's raw KPI data.
    brand_page = client_for(brand_staff).get(url).text
    assert "7.25" not in brand_page
    assert "Absenteeism" not in brand_page


def test_enrolment_list_query_count_does_not_grow_with_rows(world, module_1, brand_staff):
    def count_queries() -> int:
        client = client_for(brand_staff)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("training:enrolment_list")).status_code == 200
        return len(ctx.captured_queries)

    small = count_queries()
    world.partnership.factory_quota = 100
    world.partnership.save()
    for _ in range(20):
        enrol_factory(
            factory=FactoryFactory(),
            module=module_1,
            partnership=world.partnership,
            enrolled_by=brand_staff,
        )
    assert count_queries() == small
