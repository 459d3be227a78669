"""A supplier list through the API: JSON rows or a file, a dry run with each row's outcome,
a decision on a possible match, then confirm (the upload page's services)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from suppliers.models import BrandSupplier, SupplierImport
from tests.api.conftest import key_client
from tests.factories import FactoryFactory

pytestmark = pytest.mark.django_db


def test_rows_dry_run_decide_confirm(world, brand, api):
    existing = FactoryFactory(name="Anatolia Denim Tekstil", address="1 Fabrika Yolu", country="TR")
    rows = [
        {"name": "Anatolia Denim Tekstill", "address": "1 Fabrika Yolu", "country": "TR",
         "supplier_code": "T-1"},
        {"name": "Brand New Knitting", "address": "9 Mill Street", "country": "VN",
         "supplier_code": "V-1"},
        {"name": "No Country Mill", "address": "2 Road", "country": ""},
    ]  # fmt: skip
    created = api.post("/api/v1/imports/", {"rows": rows, "mode": "additions"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "previewed" and body["rows_total"] == 3
    assert body["rows_review"] == 1 and body["rows_new"] == 1 and body["rows_error"] == 1
    assert not BrandSupplier.objects.filter(supplier_code__in=["T-1", "V-1"]).exists()  # dry run

    import_url = f"/api/v1/imports/{body['id']}/"
    outcomes = {r["line"]: r for r in api.get(import_url + "rows/").json()["results"]}
    assert [outcomes[line]["outcome"] for line in sorted(outcomes)] == ["review", "new", "error"]
    review = next(r for r in outcomes.values() if r["outcome"] == "review")
    assert review["candidate"] == existing.pk

    refused = api.post(import_url + "confirm/")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "refused"

    decided = api.post(import_url + f"rows/{review['id']}/decide/", {"same": True})
    assert decided.status_code == 200, decided.content
    assert decided.json()["rows_review"] == 0

    confirmed = api.post(import_url + "confirm/")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["status"] == "done"
    assert BrandSupplier.objects.get(brand=brand, supplier_code="T-1").factory == existing
    assert BrandSupplier.objects.filter(brand=brand, supplier_code="V-1").exists()


def test_a_file_works_too(brand, api):
    upload = SimpleUploadedFile(
        "suppliers.csv", b"Name,Address,Country\nCsv Mill,3 Road,CN\n", content_type="text/csv"
    )
    created = api.post(
        "/api/v1/imports/", {"file": upload, "mode": "additions"}, format="multipart"
    )
    assert created.status_code == 201, created.content
    assert created.json()["rows_new"] == 1


def test_neither_or_both_is_an_error(brand, api):
    response = api.post("/api/v1/imports/", {"mode": "additions"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] is None


def test_read_only_and_other_brands(world, read_only_key, other_key):
    assert (
        key_client(read_only_key[1])
        .post("/api/v1/imports/", {"rows": [{"name": "x"}]}, format="json")
        .status_code
        == 403
    )
    other = key_client(other_key[1])
    assert other.get(f"/api/v1/imports/{world.supplier_import.pk}/").status_code == 404
    assert other.post(f"/api/v1/imports/{world.supplier_import.pk}/confirm/").status_code == 404
    assert SupplierImport.objects.get(pk=world.supplier_import.pk).status != "done"


def test_idempotency_tells_files_of_one_name_apart(brand, api):
    def upload(body: bytes):
        return api.post(
            "/api/v1/imports/",
            {"file": SimpleUploadedFile("list.csv", body, content_type="text/csv")},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    first = upload(b"Name,Address,Country\nOne Mill,1 Road,CN\n")
    assert first.status_code == 201
    assert upload(b"Name,Address,Country\nOne Mill,1 Road,CN\n").json() == first.json()
    assert upload(b"Name,Address,Country\nOther Mill,2 Road,CN\n").status_code == 422
    assert SupplierImport.objects.filter(brand=brand).count() == 1
