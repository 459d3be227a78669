"""The import pages: access per persona, upload → preview → confirm, downloads, exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from suppliers.models import BrandSupplier, Factory, SupplierImport, SupplierImportRow
from suppliers.services import link_supplier
from tests.conftest import client_for
from tests.factories import FactoryFactory
from tests.suppliers.conftest import csv_upload, fixture_file
from tests.tenancy import status_for

pytestmark = pytest.mark.django_db


def _import_urls(pk: int) -> list[tuple[str, str]]:
    return [
        ("get", reverse("suppliers:import_detail", args=[pk])),
        ("get", reverse("suppliers:import_progress", args=[pk])),
        ("get", reverse("suppliers:import_errors", args=[pk])),
        ("post", reverse("suppliers:import_confirm", args=[pk])),
        ("post", reverse("suppliers:import_decide_all", args=[pk])),
        ("post", reverse("suppliers:import_decide", args=[pk, 1])),
    ]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("other_brand_staff", 404), ("factory_manager", 404), ("trainer", 404), (None, 302)],
)
def test_outsiders_never_reach_an_import(request, world, persona, expected):
    user = request.getfixturevalue(persona) if persona else None
    client = client_for(user)
    for method, url in _import_urls(world.supplier_import.pk):
        response = getattr(client, method)(url)
        assert response.status_code == expected, url
        if expected == 302:
            assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("brand_staff", 200),
        ("brand_viewer", 403),
        ("other_brand_staff", 200),  # their own brand's upload page
        ("factory_manager", 403),
        ("trainer", 403),
        (None, 302),
    ],
)
def test_upload_page_access(request, world, persona, expected):
    assert status_for(request, persona, reverse("suppliers:import_new")) == expected


def test_viewer_reads_the_preview_but_may_not_confirm(upload, brand_viewer):
    supplier_import = upload(fixture_file("utf8.csv"))
    client = client_for(brand_viewer)
    page = client.get(supplier_import.get_absolute_url()).text
    assert "only your organisation's staff can confirm it" in page
    assert (
        client.post(reverse("suppliers:import_confirm", args=[supplier_import.pk])).status_code
        == 403
    )
    assert Factory.objects.count() == 0


def test_upload_preview_confirm_through_the_pages(brand, brand_staff, settings, tmp_path):
    client = client_for(brand_staff)
    response = client.post(
        reverse("suppliers:import_new"),
        {
            "brand": brand.pk,
            "mode": "additions",
            "file": fixture_file("with_errors.csv"),
            "encoding": "",
        },
    )
    supplier_import = SupplierImport.objects.get()
    assert response.status_code == 302 and response.url == supplier_import.get_absolute_url()
    preview = client.get(response.url).text
    assert "Nothing is saved yet" in preview
    assert "Country</strong>: “Atlantis” is not a country we know" in preview
    assert "Confirm and import 1 row" in preview
    assert Factory.objects.count() == 0

    errors = client.get(reverse("suppliers:import_errors", args=[supplier_import.pk]))
    assert errors.streaming  # a line at a time, however many rows have errors
    lines = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode("utf-8-sig"))))
    assert lines[0] == ["Factory Name", "Address", "Country", "Supplier Code", "Workers", "Error"]
    assert lines[2] == [
        "Atlantis Mills",
        "1 Sea Road",
        "Atlantis",
        "",
        "",
        "Country: “Atlantis” is not a country we know",
    ]
    assert len(lines) == 4

    client.post(reverse("suppliers:import_confirm", args=[supplier_import.pk]))
    supplier_import.refresh_from_db()
    assert supplier_import.status == SupplierImport.Status.DONE
    listing = client.get(reverse("suppliers:factory_list")).text
    assert "Özdemir Tekstil San. ve Tic. A.Ş." in listing
    history = client.get(reverse("suppliers:import_list")).text
    assert "with_errors.csv" in history and brand_staff.display_name in history


def test_upload_form_shows_the_reason_for_a_bad_file(brand, brand_staff):
    response = client_for(brand_staff).post(
        reverse("suppliers:import_new"),
        {"brand": brand.pk, "mode": "additions", "file": fixture_file("xlsx_renamed.csv")},
    )
    # Refused after it was stored: the import page says why, nothing was written.
    supplier_import = SupplierImport.objects.get()
    assert supplier_import.status == SupplierImport.Status.FAILED
    page = client_for(brand_staff).get(response.url).text
    assert "This file is an Excel workbook although its name ends in .csv." in page
    assert Factory.objects.count() == 0


def test_oversized_upload_is_a_form_error(brand, brand_staff, settings):
    settings.SUPPLIER_IMPORT_MAX_BYTES = 10
    response = client_for(brand_staff).post(
        reverse("suppliers:import_new"),
        {"brand": brand.pk, "mode": "additions", "file": fixture_file("utf8.csv")},
    )
    assert response.status_code == 200
    assert 'id="id_file_error"' in response.text
    assert "The file is larger than" in response.text
    assert SupplierImport.objects.count() == 0


def test_template_lists_every_column(brand_staff):
    body = client_for(brand_staff).get(reverse("suppliers:import_template")).content
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert header[:4] == ["Factory name", "Address", "Country", "Supplier code"]
    assert "OS ID" in header and "Parent company" in header


def test_preview_query_count_does_not_grow_with_rows(upload, brand_staff):
    def count(rows: int) -> int:
        text = "Name,Address,Country\n" + "".join(f"Mill {i},{i} Road,TR\n" for i in range(rows))
        supplier_import = upload(csv_upload(text))
        client = client_for(brand_staff)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(supplier_import.get_absolute_url()).status_code == 200
        return len(ctx.captured_queries)

    assert count(3) == count(40)


def test_import_list_query_count_does_not_grow(world, brand, brand_staff):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            client_for(brand_staff).get(reverse("suppliers:import_list"))
        return len(ctx.captured_queries)

    small = count()
    for n in range(10):
        SupplierImport.objects.create(brand=brand, original_filename=f"{n}.csv", file="x.csv")
    assert count() == small


def test_export_is_own_list_only_and_neutralises_formulas(world, brand, other_brand, brand_staff):
    evil = FactoryFactory(name='=HYPERLINK("http://x")', address="+1 Road", city="@risk")
    link_supplier(brand=brand, factory=evil, supplier_code="-5")
    link_supplier(brand=other_brand, factory=world.factory, supplier_code="B-SECRET")
    client = client_for(brand_staff)
    response = client.get(reverse("suppliers:export", args=["csv"]))
    assert response.streaming  # a line at a time, however long the list
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["Supplier code"] for r in rows] == ["'-5", "A-001"]
    assert rows[0]["Factory name"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["Address"] == "'+1 Road" and rows[0]["City"] == "'@risk"
    assert "B-SECRET" not in body and "Brand B" not in body

    xlsx = client.get(reverse("suppliers:export", args=["xlsx"])).content
    sheet = load_workbook(io.BytesIO(xlsx), read_only=True).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[1][1] == '\'=HYPERLINK("http://x")'
    assert values[1][4] == "'-5"
    assert all("B-SECRET" not in str(v) for row in values for v in row)


def test_a_list_too_long_for_excel_is_offered_as_csv(world, brand, brand_staff, settings):
    """Above SUPPLIER_EXPORT_XLSX_MAX_ROWS the XLSX is not built (it would outlast the
    server's timeout): the person is sent back to the list with a message; the CSV, which
    streams, still has every supplier."""
    link_supplier(brand=brand, factory=FactoryFactory(name="Second Mill"), supplier_code="A-2")
    client = client_for(brand_staff)
    settings.SUPPLIER_EXPORT_XLSX_MAX_ROWS = 2
    response = client.get(reverse("suppliers:export", args=["xlsx"]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert len(list(load_workbook(io.BytesIO(response.content)).worksheets[0].rows)) == 3

    settings.SUPPLIER_EXPORT_XLSX_MAX_ROWS = 1
    response = client.get(reverse("suppliers:export", args=["xlsx"]), follow=True)
    assert response.redirect_chain == [(reverse("suppliers:factory_list"), 302)]
    assert (
        "Your list has 2 suppliers: an Excel export holds at most 1. Use “Export CSV”: it has "
        "them all, and Excel opens it too."
    ) in response.content.decode()
    body = b"".join(client.get(reverse("suppliers:export", args=["csv"])).streaming_content)
    assert len(list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))) == 3


@pytest.mark.parametrize(
    ("persona", "enrol", "export"),
    [
        ("brand_staff", True, True),
        ("brand_viewer", False, True),  # reads and exports, does not enrol
        ("ilo_admin", False, True),  # exports every list, enrols for no brand
        ("factory_manager", False, False),
    ],
)
def test_supplier_list_offers_what_the_person_may_do(request, world, persona, enrol, export):
    client = client_for(request.getfixturevalue(persona))
    page = client.get(reverse("suppliers:factory_list")).text
    assert (f'href="{reverse("training:enrol")}"' in page) is enrol
    assert (f'href="{reverse("suppliers:export", args=["csv"])}"' in page) is export
    # What the page offers works.
    if enrol:
        assert client.get(reverse("training:enrol")).status_code == 200
    if export:
        assert client.get(reverse("suppliers:export", args=["csv"])).status_code == 200


def test_export_refused_to_factory_managers(world, factory_manager):
    assert (
        client_for(factory_manager).get(reverse("suppliers:export", args=["csv"])).status_code
        == 403
    )


def test_progress_partial_polls_while_working_and_stops_when_done(world, brand_staff):
    supplier_import = world.supplier_import
    url = reverse("suppliers:import_progress", args=[supplier_import.pk])
    client = client_for(brand_staff)
    working = client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in working.text and "HX-Refresh" not in working
    SupplierImport.objects.filter(pk=supplier_import.pk).update(status="done")
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in done.text and done["HX-Refresh"] == "true"


def test_decide_row_via_htmx(upload, brand, brand_staff):
    existing = FactoryFactory(name="Anatolia Denim Tekstil", address="1 Fabrika Yolu", country="TR")
    supplier_import = upload(
        csv_upload("Name,Address,Country\nAnatolia Denim Tekstill,1 Fabrika Yolu,TR\n")
    )
    row = supplier_import.rows.get()
    assert row.outcome == SupplierImportRow.Outcome.REVIEW and row.candidate == existing
    response = client_for(brand_staff).post(
        reverse("suppliers:import_decide", args=[supplier_import.pk, row.pk]),
        {"same": "yes"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and f'id="row-{row.pk}"' in response.text
    row.refresh_from_db()
    assert row.outcome == SupplierImportRow.Outcome.MATCHED and row.factory == existing
    assert BrandSupplier.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "encoding", "expected"),
    [
        (
            # GB18030, tab: 东莞华美制衣 / 虎门镇 / 中国
            "gb18030.txt",
            b"Factory Name\tAddress\tCountry\r\n"
            b"\xb6\xab\xdd\xb8\xbb\xaa\xc3\xc0\xd6\xc6\xd2\xc2\t\xbb\xa2\xc3\xc5\xd5\xf2\t"
            b"\xd6\xd0\xb9\xfa\r\n",
            "gb18030",
            ("东莞华美制衣", "虎门镇", "CN"),
        ),
        (
            # Windows-1254, semicolon: Işık Örme;Uşak;Türkiye
            "turkish.csv",
            b"Factory Name;Address;Country\r\nI\xfe\xfdk \xd6rme;U\xfeak;T\xfcrkiye\r\n",
            "cp1254",
            ("Işık Örme", "Uşak", "TR"),
        ),
    ],
)
def test_upload_page_reads_chinese_and_turkish_windows_files(
    brand, brand_staff, name, content, encoding, expected
):
    response = client_for(brand_staff).post(
        reverse("suppliers:import_new"),
        {
            "brand": brand.pk,
            "mode": "additions",
            "file": SimpleUploadedFile(name, content),
            "encoding": "",
        },
    )
    supplier_import = SupplierImport.objects.get()
    assert response.status_code == 302, supplier_import.error_message
    assert supplier_import.status == SupplierImport.Status.PREVIEWED, supplier_import.error_message
    assert supplier_import.encoding == encoding
    row = supplier_import.rows.get()
    assert (row.data["name"], row.data["address"], row.data["country"]) == expected


def test_the_xlsx_export_keeps_numbers_as_numbers(world, brand, brand_staff):
    factory = FactoryFactory(name="Counted Mill", workers_total=1250, workers_women=700)
    link_supplier(brand=brand, factory=factory, supplier_code="N-1")
    xlsx = client_for(brand_staff).get(reverse("suppliers:export", args=["xlsx"])).content
    sheet = load_workbook(io.BytesIO(xlsx), read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    headers = rows[0]
    mill = next(row for row in rows if row[headers.index("Factory name")] == "Counted Mill")
    assert mill[headers.index("Number of workers")] == 1250
    assert mill[headers.index("Number of women workers")] == 700
