"""The supplier export answers only in the formats there are, under a fixed file name; the
rows-to-fix download names its file after the upload without letting that name into a header
raw."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse

from suppliers.models import SupplierImport
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "suffix", ["html", "CSV", "csv%0D%0AX-Injected:%201", "xlsx.html", "csv/", "%C2%B2"]
)
def test_any_other_export_format_is_not_found(world, brand_staff, suffix):
    response = client_for(brand_staff).get(f"/suppliers/export.{suffix}")
    assert response.status_code == 404
    assert "X-Injected" not in response.headers


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_export_has_a_fixed_name(world, brand_staff, fmt):
    response = client_for(brand_staff).get(reverse("suppliers:export", args=[fmt]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="suppliers.{fmt}"'


def test_other_formats_cannot_even_be_linked():
    with pytest.raises((NoReverseMatch, ImproperlyConfigured)):
        reverse("suppliers:export", args=["html"])


def test_the_rows_to_fix_keep_a_hostile_upload_name_out_of_the_header(world, brand_staff):
    SupplierImport.objects.filter(pk=world.supplier_import.pk).update(
        original_filename='list"\r\nX-Injected: 1.csv', headers=["Factory name"]
    )
    response = client_for(brand_staff).get(
        reverse("suppliers:import_errors", args=[world.supplier_import.pk])
    )
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition == "attachment; filename*=utf-8''list%22%0D%0AX-Injected%3A%201-errors.csv"
