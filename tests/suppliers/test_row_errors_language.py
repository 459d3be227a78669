"""Import row errors are stored as codes and parameters and read in the reader's language:
a Spanish uploader's errors read in Turkish by a Turkish colleague, on the page and in the
download of rows to fix."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from suppliers.models import SupplierImportRow
from tests.conftest import client_for
from tests.suppliers.conftest import csv_upload, fixture_file

pytestmark = pytest.mark.django_db
Outcome = SupplierImportRow.Outcome

FILE = (
    "Name,Address,Country,Supplier code,Workers\n"
    "Anatolia Denim A.Ş.,1 Fabrika Yolu,TR,X-1,many\n"
    "Somewhere Mill,2 Road,Atlantis,X-2,\n"
    "Ege Örme,3 Yol,TR,X-3,\n"
    "Other Mill,4 Road,TR,X-3,\n"
)


def _in(language: str, message: str, **params: object) -> str:
    with translation.override(language):
        text = gettext(message)
    return text % params if params else text


@pytest.fixture
def spanish_import(upload):
    with translation.override("es"):
        return upload(csv_upload(FILE))


def test_errors_are_stored_as_codes_not_in_the_uploaders_language(spanish_import):
    errors = [e for row in spanish_import.rows.order_by("line") for e in row.errors]
    assert [e["code"] for e in errors] == ["not_whole_number", "unknown_country", "code_clash"]
    assert all("message" not in e for e in errors)
    assert errors[1]["params"] == {"value": "Atlantis"}
    assert errors[2]["params"] == {"code": "X-3", "row": 4}


@pytest.mark.parametrize("language", ["tr", "es", "zh-hans", "en"])
def test_each_reader_reads_the_errors_in_their_language(spanish_import, language):
    rows = {row.line: row for row in spanish_import.rows.all()}
    with translation.override(language):
        texts = {line: rows[line].error_text for line in (2, 3, 5)}
    assert texts[2] == "Workers: " + _in(language, "not a whole number")
    assert texts[3] == "Country: " + _in(
        language, "“%(value)s” is not a country we know", value="Atlantis"
    )
    assert texts[5] == "Supplier code: " + _in(
        language, "%(code)s is also given to another factory on row %(row)s", code="X-3", row=4
    )
    if language != "en":  # the catalogue really has them: the test can tell languages apart
        assert texts[2] != "Workers: not a whole number"


def test_country_names_in_an_error_follow_the_reader(upload, world, brand):
    with translation.override("es"):
        supplier_import = upload(fixture_file("other_brand_code.csv"))
    row = supplier_import.rows.get(line=3)
    assert row.errors[0]["params"]["country"] == "CN"
    with translation.override("tr"):
        turkish = row.error_text
    with translation.override("es"):
        spanish = row.error_text
    assert "(Çin)" in turkish and "Türkiye" in turkish
    assert "(China)" in spanish and "Turquía" in spanish


def test_page_and_download_of_rows_to_fix_speak_the_readers_language(spanish_import, brand_staff):
    brand_staff.language = "tr"
    brand_staff.save(update_fields=["language"])
    client = client_for(brand_staff)
    page = client.get(reverse("suppliers:import_detail", args=[spanish_import.pk]))
    assert page.status_code == 200
    assert _in("tr", "not a whole number") in page.content.decode()

    download = client.get(reverse("suppliers:import_errors", args=[spanish_import.pk]))
    table = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert table[0][-1] == _in("tr", "Error") != "Error"
    assert table[1][-1] == "Workers: " + _in("tr", "not a whole number")
