"""A too-long cell refuses its row, naming the row and the column; the rest of the file reads."""

from __future__ import annotations

import pytest
from django.urls import reverse

from score_portal.uploads import SPREADSHEET_CELL_CHARACTERS
from suppliers.importing.columns import BY_FIELD
from suppliers.models import BrandSupplier, Factory, SupplierImport, SupplierImportRow
from suppliers.services import confirm_import
from tests.conftest import client_for
from tests.suppliers.conftest import csv_upload

pytestmark = pytest.mark.django_db
Outcome = SupplierImportRow.Outcome

MEGABYTE = "m" * 1_048_577  # one past 1 MiB: more than the reader's old bound
TWO_HUNDRED_KB = "k" * 200_000


def _file() -> str:
    lines = [
        "Factory name,Address,Country,Notes",
        "Atlas Garments,1 Mill Road Dhaka,BD,",
        f'Borealis Knits,"{MEGABYTE}",BD,',  # row 3: the address is a megabyte
        "Cedar Textiles,3 Canal Street Dhaka,BD,",
        f"Delta Apparel,4 Port Road Chittagong,BD,{TWO_HUNDRED_KB}",  # row 5: an ignored column
        f"{TWO_HUNDRED_KB},5 River Road Dhaka,BD,",  # row 6: the name
        "Ember Fashions,6 Lake Road Dhaka,BD,",
    ]
    return "\r\n".join(lines) + "\r\n"


@pytest.fixture
def previewed(upload, django_capture_on_commit_callbacks):
    """The file uploaded and read (1.4 MB: by the worker, which runs in-process here)."""
    with django_capture_on_commit_callbacks(execute=True):
        supplier_import = upload(csv_upload(_file()))
    supplier_import.refresh_from_db()
    return supplier_import


def test_a_megabyte_cell_and_a_200_kb_cell_refuse_only_their_rows(previewed, brand, brand_staff):
    supplier_import = previewed
    assert supplier_import.status == SupplierImport.Status.PREVIEWED, supplier_import.error_message
    errors = {
        row.line: row.error_text
        for row in supplier_import.rows.filter(outcome=Outcome.ERROR).order_by("line")
    }
    assert errors == {
        3: "Address: longer than 500 characters (1048577)",
        5: "Notes: longer than 32767 characters (200000)",
        6: "Factory name: longer than 300 characters (200000)",
    }
    assert supplier_import.rows_new == 3

    # The rows to fix keep their cells, an oversized one cut to what a spreadsheet holds.
    kept = supplier_import.rows.get(line=3).data["_cells"]
    assert kept == ["Borealis Knits", MEGABYTE[:SPREADSHEET_CELL_CHARACTERS], "BD", ""]

    confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert sorted(Factory.objects.values_list("name", flat=True)) == [
        "Atlas Garments",
        "Cedar Textiles",
        "Ember Fashions",
    ]
    assert BrandSupplier.objects.filter(brand=brand).count() == 3


def test_the_preview_and_the_rows_to_fix_name_the_row_and_column(previewed, brand_staff):
    supplier_import = previewed
    client = client_for(brand_staff)
    page = client.get(
        reverse("suppliers:import_detail", args=[supplier_import.pk]), {"outcome": "error"}
    ).text
    assert "longer than 500 characters (1048577)" in page
    body = b"".join(
        client.get(reverse("suppliers:import_errors", args=[supplier_import.pk])).streaming_content
    ).decode()
    lines = body.removeprefix("\ufeff").splitlines()  # Excel's byte-order mark first
    assert lines[0] == "Factory name,Address,Country,Notes,Error"
    assert lines[1].endswith(",BD,,Address: longer than 500 characters (1048577)")
    assert len(lines) == 4


def test_each_columns_limit_is_the_models():
    # The import refuses what the database would: a limit per column, from the model.
    for field in ("name", "name_latin", "address", "city", "product_type", "parent_company"):
        assert BY_FIELD[field].max_length == Factory._meta.get_field(field).max_length
    for field in ("contact_name", "contact_email", "contact_phone", "os_id"):
        assert BY_FIELD[field].max_length == Factory._meta.get_field(field).max_length
    code = BrandSupplier._meta.get_field("supplier_code")
    assert BY_FIELD["supplier_code"].max_length == code.max_length
