import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from suppliers.services import link_supplier
from tests.conftest import client_for
from tests.factories import FactoryFactory
from tests.tenancy import status_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("ilo_admin", 200),
        ("brand_staff", 200),
        ("other_brand_staff", 404),
        ("factory_manager", 200),
        ("other_factory_manager", 404),
        ("trainer", 200),  # the factory is in the trainer's cohort
        (None, 302),
    ],
)
def test_factory_detail_access(request, world, persona, expected):
    url = reverse("suppliers:factory_detail", args=[world.factory.pk])
    assert status_for(request, persona, url) == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("ilo_admin", 200),
        ("brand_staff", 200),
        ("other_brand_staff", 404),
        ("factory_manager", 404),
        ("trainer", 404),
        (None, 302),
    ],
)
def test_import_detail_access(request, world, persona, expected):
    url = reverse("suppliers:import_detail", args=[world.supplier_import.pk])
    assert status_for(request, persona, url) == expected


def test_supplier_list_is_the_brands_own(world, brand_staff):
    response = client_for(brand_staff).get(reverse("suppliers:factory_list"))
    assert response.status_code == 200
    assert world.factory.name in response.text
    assert world.other_factory.name not in response.text


def test_shared_factory_shows_only_own_supplier_code(world, brand_staff, other_brand):
    # One factory, two brands: each brand sees its own code and never the other's.
    link_supplier(brand=other_brand, factory=world.factory, supplier_code="B-SECRET-77")
    detail = client_for(brand_staff).get(world.factory.get_absolute_url()).text
    listing = client_for(brand_staff).get(reverse("suppliers:factory_list")).text
    for page in (detail, listing):
        assert "A-001" in page
        assert "B-SECRET-77" not in page
        assert "Brand B" not in page


def test_factory_manager_sees_no_brand_codes(world, factory_manager):
    page = client_for(factory_manager).get(world.factory.get_absolute_url()).text
    assert world.factory.name in page
    assert "A-001" not in page


def test_import_list_is_the_brands_own(world, brand_staff):
    page = client_for(brand_staff).get(reverse("suppliers:import_list")).text
    assert "brand-a-suppliers.csv" in page
    assert "brand-b-suppliers.csv" not in page


def test_supplier_list_filters_by_search_and_country(world, brand, brand_staff):
    turkish = FactoryFactory(name="Çağlar Konfeksiyon", country="TR", city="İstanbul")
    link_supplier(brand=brand, factory=turkish, supplier_code="A-002")
    client = client_for(brand_staff)
    by_country = client.get(reverse("suppliers:factory_list"), {"country": "TR"}).text
    assert "Çağlar Konfeksiyon" in by_country
    assert world.factory.name not in by_country
    by_search = client.get(reverse("suppliers:factory_list"), {"q": "huamei"}).text
    assert world.factory.name in by_search
    assert "Çağlar Konfeksiyon" not in by_search


def test_supplier_list_rejects_garbage_filters_without_error(world, brand_staff):
    response = client_for(brand_staff).get(
        reverse("suppliers:factory_list"), {"country": "ZZ-not-a-country", "page": "abc"}
    )
    assert response.status_code == 200


def test_supplier_list_query_count_does_not_grow_with_rows(world, brand, brand_staff):
    def count_queries() -> int:
        client = client_for(brand_staff)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("suppliers:factory_list")).status_code == 200
        return len(ctx.captured_queries)

    small = count_queries()
    for n in range(30):
        link_supplier(brand=brand, factory=FactoryFactory(), supplier_code=f"A-{100 + n}")
    assert count_queries() == small
