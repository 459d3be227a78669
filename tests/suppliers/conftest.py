from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from suppliers.models import SupplierImport
from suppliers.services import start_import

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "suppliers"


def fixture_file(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (FIXTURES / name).read_bytes())


def csv_upload(text: str, name: str = "suppliers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def upload(brand, brand_staff):
    """Upload a file as brand A's staff member and return the import (read, not written)."""

    def _upload(file: SimpleUploadedFile, *, as_brand=None, user=None, **kwargs) -> SupplierImport:
        return start_import(
            brand=as_brand or brand, user=user or brand_staff, upload=file, **kwargs
        )

    return _upload
