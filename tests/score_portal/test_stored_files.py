"""Stored files are served only by views that check who asks, in development too; a file the
database names but storage lacks answers a 404 page and is reported."""

from __future__ import annotations

import importlib
import io
import logging
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import clear_url_caches, reverse
from django.utils import timezone

import score_portal.urls
from tests.conftest import client_for
from training.models import Certificate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def urls_with_debug(settings):
    """The URL configuration as `make run` builds it: with DEBUG on."""
    settings.DEBUG = True
    importlib.reload(score_portal.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(score_portal.urls)
    clear_url_caches()


def _certificate(world, *, stored: bool) -> Certificate:
    name = default_storage.save("certificates/2026/SCORE-TEST.pdf", ContentFile(b"%PDF-1.7 test"))
    if not stored:
        default_storage.delete(name)
    return Certificate.objects.create(
        enrolment=world.enrolment,
        status=Certificate.Status.ISSUED,
        issued_at=timezone.now(),
        pdf=name,
    )


def test_media_is_not_served_even_with_debug_on(urls_with_debug, world, brand_staff):
    certificate = _certificate(world, stored=True)
    url = f"/media/{certificate.pdf.name}"
    assert client_for(None).get(url).status_code == 404
    assert client_for(brand_staff).get(url).status_code == 404
    # The access-checked view serves it to whom it belongs.
    pdf = client_for(brand_staff).get(reverse("training:certificate_pdf", args=[certificate.pk]))
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content) == b"%PDF-1.7 test"


def test_a_missing_certificate_pdf_is_a_404_page_reported_to_the_ilo(world, brand_staff, caplog):
    certificate = _certificate(world, stored=False)
    with caplog.at_level(logging.ERROR):
        response = client_for(brand_staff).get(
            reverse("training:certificate_pdf", args=[certificate.pk])
        )
    assert response.status_code == 404
    assert response.templates[0].name == "missing_file.html"
    assert "cannot find it in its storage" in response.text
    assert any(
        r.levelno == logging.ERROR and certificate.pdf.name in r.getMessage()
        for r in caplog.records
    )
    certificate.refresh_from_db()
    assert certificate.last_error.startswith("Missing PDF: ")
    assert certificate.pdf.name in certificate.last_error


def test_the_zip_leaves_a_missing_pdf_out_and_notes_it(world, brand_staff):
    certificate = _certificate(world, stored=False)
    response = client_for(brand_staff).get(reverse("training:certificates_zip"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == []
    certificate.refresh_from_db()
    assert certificate.last_error.startswith("Missing PDF: ")


def test_a_missing_partnership_document_is_a_404_page_and_logged(world, brand_staff, caplog):
    partnership = world.partnership
    partnership.supporting_document.name = "partnerships/gone.pdf"
    partnership.save(update_fields=["supporting_document"])
    with caplog.at_level(logging.ERROR):
        response = client_for(brand_staff).get(
            reverse("partners:partnership_document", args=[partnership.pk])
        )
    assert response.status_code == 404
    assert response.templates[0].name == "missing_file.html"
    assert any("partnerships/gone.pdf" in r.getMessage() for r in caplog.records)


def test_the_admin_links_files_to_the_access_checked_views(world, ilo_admin):
    certificate = _certificate(world, stored=True)
    page = client_for(ilo_admin).get(
        reverse("admin:training_certificate_change", args=[certificate.pk])
    )
    assert page.status_code == 200
    assert reverse("training:certificate_pdf", args=[certificate.pk]) in page.text
    assert "/media/" not in page.text
