"""Exchanging lists with Open Supply Hub: a brand's list in its facility-list upload
columns, and a facility list downloaded from it imported through the usual path."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from suppliers.exports import OSH_HEADERS
from suppliers.models import Factory, SupplierImport
from suppliers.services import link_supplier
from tests.conftest import client_for
from tests.factories import FactoryFactory
from tests.suppliers.conftest import fixture_file

pytestmark = pytest.mark.django_db

# Open Supply Hub's list upload columns (its facility_lists fixture and extended fields).
EXPECTED_HEADERS = [
    "country",
    "name",
    "address",
    "sector",
    "product_type",
    "facility_type",
    "processing_type",
    "number_of_workers",
    "parent_company",
]


def _csv_rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_export_in_open_supply_hub_columns_is_the_brands_own(
    world, brand, other_brand, brand_staff
):
    shared = FactoryFactory(
        name="Ningbo Haitian Textile Co., Ltd.",
        name_latin="",
        address="88 Binhai Avenue",
        city="Ningbo",
        workers_total=None,
        workers_women=None,
        product_type="Knitwear",
        parent_company="=cmd|' /C calc'!A0",
    )
    link_supplier(brand=brand, factory=shared, supplier_code="A-2")
    link_supplier(brand=other_brand, factory=shared, supplier_code="B-2")
    client = client_for(brand_staff)
    response = client.get(reverse("suppliers:export_osh", args=["csv"]))
    assert response.status_code == 200
    assert 'filename="open-supply-hub.csv"' in response["Content-Disposition"]
    rows = _csv_rows(response)
    assert list(rows[0]) == EXPECTED_HEADERS == OSH_HEADERS
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"Dongguan Huamei Garment", "Ningbo Haitian Textile Co., Ltd."}
    huamei = by_name["Dongguan Huamei Garment"]  # the Latin-script name where there is one
    assert huamei["country"] == "CN"
    assert huamei["address"] == f"{world.factory.address}, Dongguan"
    assert huamei["sector"] == "Garments and apparel"
    assert huamei["number_of_workers"] == "250"
    ningbo = by_name["Ningbo Haitian Textile Co., Ltd."]
    assert ningbo["number_of_workers"] == "" and ningbo["product_type"] == "Knitwear"
    assert ningbo["parent_company"].startswith("'=")  # no formula reaches a spreadsheet
    assert world.other_factory.name not in str(rows)  # brand B's own supplier

    xlsx = client.get(reverse("suppliers:export_osh", args=["xlsx"]))
    sheet = load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == EXPECTED_HEADERS and len(values) == 3


def test_export_for_one_brand_and_outsiders(world, brand, other_brand, brand_staff, ilo_admin):
    url = reverse("suppliers:export_osh", args=["csv"])
    rows = _csv_rows(client_for(ilo_admin).get(url, {"brand": other_brand.pk}))
    assert [row["name"] for row in rows] == [world.other_factory.name_latin]
    client = client_for(brand_staff)
    assert client.get(url, {"brand": other_brand.pk}).status_code == 404
    assert client.get(url, {"brand": "²"}).status_code == 404
    assert len(_csv_rows(client.get(url, {"brand": brand.pk}))) == 1
    assert client.get("/suppliers/export/open-supply-hub.pdf").status_code == 404


def test_a_list_downloaded_from_open_supply_hub_imports_with_its_os_ids(world, brand, brand_staff):
    Factory.objects.filter(pk=world.factory.pk).update(os_id="CN2019067X1K87E")
    client = client_for(brand_staff)
    response = client.post(
        reverse("suppliers:import_new"),
        {
            "brand": brand.pk,
            "mode": "additions",
            "file": fixture_file("open-supply-hub-download.csv"),
            "encoding": "",
        },
    )
    supplier_import = SupplierImport.objects.get(original_filename="open-supply-hub-download.csv")
    assert response.status_code == 302
    assert supplier_import.rows_error == 0, list(supplier_import.rows.values("errors"))
    rows = {row.line: row for row in supplier_import.rows.all()}
    assert rows[2].factory_id == world.factory.pk  # found by its OS ID
    assert rows[3].data["country"] == "VN" and rows[3].data["os_id"] == "VN2022145QW3RT6"
    # Open Supply Hub's worker bands are no head count: left blank, the row still imports.
    assert "workers_total" not in rows[2].data and rows[3].data["workers_total"] == 500
    assert rows[2].data["contact_email"] == "chen.wei@huamei.example.cn"
    assert {"lat", "lng", "contributor (list)", "is_closed"} <= set(supplier_import.ignored_columns)

    client.post(reverse("suppliers:import_confirm", args=[supplier_import.pk]))
    supplier_import.refresh_from_db()
    assert supplier_import.status == SupplierImport.Status.DONE
    hoa_binh = Factory.objects.get(os_id="VN2022145QW3RT6")
    assert hoa_binh.name == "Hoa Binh Textile & Garment J.S.C."
    assert hoa_binh.address == "45 Nguyen Van Linh, Ward 7, Hoa Binh"
    assert Factory.objects.get(os_id="TR2020301ABC12D").parent_company == "Ozdemir Holding"
    assert Factory.objects.filter(os_id="CN2019067X1K87E").get() == world.factory
    assert set(brand.supplier_links.values_list("factory__os_id", flat=True)) == {
        "CN2019067X1K87E",
        "VN2022145QW3RT6",
        "TR2020301ABC12D",
    }
