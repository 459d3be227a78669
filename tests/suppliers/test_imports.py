"""Supplier-list imports through the services: files Excel produces, bad input, writing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import translation

from suppliers import services
from suppliers.importing import analysis, normalise, writing
from suppliers.models import BrandSupplier, Factory, SupplierImport, SupplierImportRow
from suppliers.services import SupplierError, confirm_import
from tests.suppliers.conftest import csv_upload, fixture_file

pytestmark = pytest.mark.django_db
Status = SupplierImport.Status
Outcome = SupplierImportRow.Outcome

TURKISH = "Özdemir Tekstil San. ve Tic. A.Ş."
VIETNAMESE = "Công ty TNHH May Việt Tiến"
CHINESE = "东莞华美制衣有限公司"


@pytest.mark.parametrize(
    ("name", "encoding", "names", "countries"),
    [
        ("utf8.csv", "utf-8", [TURKISH, VIETNAMESE, CHINESE], ["TR", "VN", "CN"]),
        ("utf8_bom_semicolon.csv", "utf-8-sig", [TURKISH, VIETNAMESE, CHINESE], ["TR", "VN", "CN"]),
        ("utf16_unicode_text.txt", "utf-16", [TURKISH, VIETNAMESE, CHINESE], ["TR", "VN", "CN"]),
        (
            "cp1252.csv",
            "cp1252",
            ["Fábrica Têxtil Açores Lda", "Müller Strickwaren GmbH"],
            ["PT", "DE"],
        ),
        ("cp1254_semicolon.csv", "cp1254", [TURKISH, "Çağlar Konfeksiyon Ltd. Şti."], ["TR", "TR"]),
        ("cp1258.csv", "cp1258", [VIETNAMESE, "Công ty Cổ phần Dệt may Thành Công"], ["VN", "VN"]),
        ("gb18030_tab.csv", "gb18030", [CHINESE, "广州市白云区华丰鞋业有限公司"], ["CN", "CN"]),
        ("quoted_newlines_lf.csv", "utf-8", ['Atlas Garments "North"', TURKISH], ["BD", "TR"]),
        ("suppliers.xlsx", "xlsx", [TURKISH, VIETNAMESE, CHINESE], ["TR", "VN", "CN"]),
    ],
)
def test_every_file_excel_produces_is_read_and_written_intact(
    upload, brand, brand_staff, name, encoding, names, countries
):
    supplier_import = upload(fixture_file(name))
    assert supplier_import.status == Status.PREVIEWED, supplier_import.error_message
    assert supplier_import.encoding == encoding
    assert (supplier_import.rows_total, supplier_import.rows_new) == (len(names), len(names))
    assert Factory.objects.count() == 0  # the preview writes nothing

    confirm_import(supplier_import=supplier_import, user=brand_staff)
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.DONE
    written = list(Factory.objects.order_by("pk").values_list("name", "country"))
    assert written == list(zip(names, countries, strict=True))
    assert BrandSupplier.objects.filter(brand=brand).count() == len(names)


def test_quoted_newline_stays_inside_the_address(upload, brand_staff):
    supplier_import = upload(fixture_file("quoted_newlines_lf.csv"))
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert Factory.objects.get(country="BD").address == "Plot 4, EPZ Zone 2"


def test_headers_in_any_case_and_aliases(upload, brand):
    supplier_import = upload(fixture_file("aliases.csv"))
    row = supplier_import.rows.get()
    assert row.outcome == Outcome.NEW
    assert row.data == {
        "name": "Dhaka Knit Ltd",
        "address": "Road 5, Ashulia",
        "country": "BD",
        "supplier_code": "K-1",
        "os_id": "BD2019067X1K87E",
    }
    assert supplier_import.ignored_columns == ["Facility Type"]


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ("Türkiye", "TR"),
        ("turkey", "TR"),
        ("TUR", "TR"),
        ("Viet Nam", "VN"),
        ("vn", "VN"),
        ("China, People's Republic of", "CN"),
        ("CHN", "CN"),
    ],
)
def test_countries_in_common_spellings(upload, country, code):
    supplier_import = upload(csv_upload(f'Name,Address,Country\nA Mill,1 Road,"{country}"\n'))
    assert supplier_import.rows.get().data["country"] == code


@pytest.mark.parametrize("first_language", ["tr", "zh-hans", "en"])
def test_country_and_sector_names_read_the_same_whatever_language_was_active_first(
    upload, first_language
):
    """The lookups are built once per process. Built inside a Turkish request they once
    knew only Turkish names, and every English "Bangladesh" after that was an error."""
    normalise._country_lookup.cache_clear()
    normalise.country_code.cache_clear()
    analysis._sector_lookup.cache_clear()
    with translation.override(first_language):
        upload(csv_upload("Name,Address,Country\nA Mill,1 Road,TR\n"))
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,Sector\n"
            "A Mill,1 Road,Bangladesh,Garments\n"
            "B Mill,2 Road,Çin,Tekstil\n"  # Turkish: China, textiles
            "C Mill,3 Road,Trung Quốc,Footwear\n"  # Vietnamese
            "D Mill,4 Road,中国,Electronics\n"  # Chinese
            "E Mill,5 Road,Turquía,Food\n"  # Spanish
        )
    )
    rows = supplier_import.rows.order_by("line")
    assert [(r.data["country"], r.data["sector"]) for r in rows] == [
        ("BD", "garments"),
        ("CN", "textiles"),
        ("CN", "footwear"),
        ("CN", "electronics"),
        ("TR", "food"),
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "The file is empty."),
        ("header_only.csv", "The file has a header row but no supplier rows."),
        ("missing_columns.csv", "Required columns missing: Address, Country."),
        ("binary.csv", "This file is not a CSV or XLSX file (it contains binary data)."),
        ("xlsx_renamed.csv", "This file is an Excel workbook although its name ends in .csv."),
        (
            "not_a_workbook.xlsx",
            "This file is not an Excel workbook, although its name ends in .xlsx.",
        ),
        ("zip_bomb.xlsx", "This workbook would unpack to more than 200 MB"),
    ],
)
def test_bad_files_get_a_clear_message_and_write_nothing(
    upload, world, name, message, django_capture_on_commit_callbacks
):
    factories, links = Factory.objects.count(), BrandSupplier.objects.count()
    try:
        with django_capture_on_commit_callbacks(execute=True):  # the large one goes to the worker
            supplier_import = upload(fixture_file(name))
    except SupplierError as exc:  # refused before it is stored
        assert str(exc).startswith(message)
    else:
        supplier_import.refresh_from_db()
        assert supplier_import.status == Status.FAILED
        assert supplier_import.error_message.startswith(message)
        assert supplier_import.rows.count() == 0
    assert (Factory.objects.count(), BrandSupplier.objects.count()) == (factories, links)


def test_oversized_file_is_refused(upload, settings):
    settings.SUPPLIER_IMPORT_MAX_BYTES = 100
    with pytest.raises(SupplierError, match=r"larger than 0\.0 MB"):
        upload(fixture_file("utf8.csv"))
    assert SupplierImport.objects.count() == 0


def test_row_errors_name_the_column_and_reason(upload, brand_staff):
    supplier_import = upload(fixture_file("with_errors.csv"))
    assert (supplier_import.rows_new, supplier_import.rows_error) == (1, 3)
    errors = {
        row.line: row.error_text
        for row in supplier_import.rows.filter(outcome=Outcome.ERROR).order_by("line")
    }
    assert errors == {
        3: "Factory Name: required, but empty",
        4: "Country: “Atlantis” is not a country we know",
        5: "Workers: not a whole number",
    }
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert list(Factory.objects.values_list("name", flat=True)) == [TURKISH]


def test_ten_thousand_character_cells_are_row_errors(upload):
    supplier_import = upload(fixture_file("long_cells.csv"))
    error_row = supplier_import.rows.get(outcome=Outcome.ERROR)
    assert error_row.error_text == (
        "Factory Name: longer than 300 characters (10000); "
        "Address: longer than 500 characters (10000)"
    )
    assert supplier_import.rows_new == 1


def test_supplier_code_of_a_factory_in_another_country_is_an_error(upload, world, brand):
    # A-001 is brand A's code for world.factory (China); B-001 is brand B's code, no
    # business of A's. A row in Türkiye with A-001 names another factory: an error naming
    # the code and both factories.
    supplier_import = upload(fixture_file("other_brand_code.csv"))
    rows = {row.line: row for row in supplier_import.rows.all()}
    assert rows[2].outcome == Outcome.NEW  # B-001 is free on brand A's list
    assert rows[3].outcome == Outcome.ERROR
    assert rows[3].error_text.startswith(
        "Supplier Code: A-001 is your code for “东莞华美制衣有限公司” (China), but this row "
        "names “Dup Fabrika” in T"
    )


def test_confirm_failing_midway_leaves_the_database_as_before(upload, brand_staff, monkeypatch):
    supplier_import = upload(fixture_file("utf8.csv"))
    steps: list[str] = []
    original = writing._insert_new_factories

    def insert_then_note(*args, **kwargs):
        original(*args, **kwargs)
        steps.append("inserted")
        assert Factory.objects.count() == 3  # written, inside the transaction

    def failing(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writing, "_insert_new_factories", insert_then_note)
    monkeypatch.setattr(writing, "_fill_blanks", failing)
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    supplier_import.refresh_from_db()
    assert steps == ["inserted"]
    assert supplier_import.status == Status.FAILED
    assert supplier_import.error_message == (
        "The import failed and nothing was written. Try again later."
    )
    assert (Factory.objects.count(), BrandSupplier.objects.count()) == (0, 0)


def test_reimporting_the_same_file_creates_nothing_new(upload, brand_staff):
    first = upload(fixture_file("utf8.csv"))
    confirm_import(supplier_import=first, user=brand_staff)
    factories = set(Factory.objects.values_list("pk", flat=True))

    again = upload(fixture_file("utf8.csv"))
    assert (again.rows_new, again.rows_unchanged) == (0, 3)
    confirm_import(supplier_import=again, user=brand_staff)
    again.refresh_from_db()
    assert again.status == Status.DONE
    assert set(Factory.objects.values_list("pk", flat=True)) == factories
    assert BrandSupplier.objects.count() == 3


def test_duplicates_inside_one_file_become_one_factory(upload, brand_staff):
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,Supplier code\n"
            "Anatolia Denim A.Ş.,1 Fabrika Yolu,TR,X-1\n"
            "ANATOLIA DENIM,1 Fabrika Yolu,Turkey,\n"
            "Other Mill,2 Road,TR,X-1\n"
        )
    )
    rows = {row.line: row for row in supplier_import.rows.all()}
    assert rows[3].outcome == Outcome.UNCHANGED and rows[3].duplicate_of == 2
    assert rows[4].error_text == "Supplier code: X-1 is also given to another factory on row 2"
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert list(Factory.objects.values_list("name", flat=True)) == ["Anatolia Denim A.Ş."]


def test_viewer_may_not_confirm(upload, brand_viewer):
    supplier_import = upload(fixture_file("utf8.csv"))
    with pytest.raises(SupplierError, match="You may not import suppliers for Brand A"):
        confirm_import(supplier_import=supplier_import, user=brand_viewer)
    assert Factory.objects.count() == 0


def test_large_lists_go_to_the_worker_and_email_the_uploader(
    upload, brand_staff, settings, django_capture_on_commit_callbacks
):
    settings.SUPPLIER_IMPORT_INLINE_BYTES = 0
    settings.SUPPLIER_IMPORT_INLINE_ROWS = 0
    with django_capture_on_commit_callbacks(execute=True):
        supplier_import = upload(fixture_file("utf8.csv"))
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.PREVIEWED
    with django_capture_on_commit_callbacks(execute=True):
        confirm_import(supplier_import=supplier_import, user=brand_staff)
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.DONE
    assert Factory.objects.count() == 3
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        "Your supplier list utf8.csv is ready to review",
        "Your supplier list utf8.csv is imported",
    ]
    assert mail.outbox[1].to == [brand_staff.email]


def test_tasks_are_safe_to_run_twice(upload, brand_staff, settings):
    from suppliers.tasks import analyse_supplier_import, write_supplier_import

    settings.SUPPLIER_IMPORT_INLINE_BYTES = 0
    settings.SUPPLIER_IMPORT_INLINE_ROWS = 0
    supplier_import = upload(fixture_file("utf8.csv"))  # queued on commit (not run here)
    assert analyse_supplier_import(supplier_import.pk) is True
    assert analyse_supplier_import(supplier_import.pk) is False
    assert supplier_import.rows.count() == 3
    supplier_import.refresh_from_db()
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert write_supplier_import(supplier_import.pk) is True
    assert write_supplier_import(supplier_import.pk) is False
    assert Factory.objects.count() == 3
    assert BrandSupplier.objects.count() == 3


def test_services_module_exposes_progress_key():
    assert services.progress_key(7) == "supplier-import-progress:7"
