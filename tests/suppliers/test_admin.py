"""The admin's factory import reads files with the portal's one upload reader."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from suppliers.models import Factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(email="root@example.org"))
    return client


def test_admin_import_reads_a_utf16_tab_file(admin_client):
    # UTF-16 LE with its BOM, tab-separated: id / factory_name / address / country;
    # (new) / 宁波针织 / 1 Road / CN  (宁 U+5B81, 波 U+6CE2, 针 U+9488, 织 U+7EC7)
    content = (
        b"\xff\xfe"
        + "id\tfactory_name\taddress\tcountry\r\n\t".encode("utf-16-le")
        + b"\x81\x5b\xe2\x6c\x88\x94\xc7\x7e"
        + "\t1 Road\tCN\r\n".encode("utf-16-le")
    )
    url = reverse("admin:suppliers_factory_import")
    response = admin_client.post(
        url,
        {
            "import_file": SimpleUploadedFile("factories.txt", content),
            "format": "0",
            "resource": "0",
        },
    )
    assert response.status_code == 200
    assert not response.context["form"].errors
    result = response.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert len(result.rows) == 1
    assert "宁波针织" in response.text
    assert Factory.objects.count() == 0  # a dry run until confirmed


def test_admin_import_explains_garbage(admin_client):
    response = admin_client.post(
        reverse("admin:suppliers_factory_import"),
        {
            "import_file": SimpleUploadedFile("factories.csv", b"\x00\x01\x02binary\x00"),
            "format": "0",
            "resource": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["import_file"] == [
        "This file is not a CSV or XLSX file (it contains binary data)."
    ]
