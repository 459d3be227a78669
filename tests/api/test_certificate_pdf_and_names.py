"""A certificate's PDF through the API (the file the page serves), and names returned with
their language: the module catalogue and a supplier's factory."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from tests.api.conftest import key_client
from tests.factories import mark_completed
from training.models import Certificate, Module
from training.services import certificates as certificate_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def rendered(world, settings, tmp_path, django_capture_on_commit_callbacks) -> Certificate:
    """Brand A's enrolment completed and its certificate rendered by the service."""
    settings.MEDIA_ROOT = tmp_path / "media"
    mark_completed(world.enrolment)
    with django_capture_on_commit_callbacks(execute=True):
        certificate = certificate_services.request_certificate(enrolment=world.enrolment)
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED and certificate.pdf
    return certificate


def _url(certificate: Certificate) -> str:
    return f"/api/v1/certificates/{certificate.pk}/pdf/"


def test_the_pdf_is_the_pages_file(rendered, api, tmp_path):
    response = api.get(_url(rendered))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"{rendered.code}.pdf" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    with default_storage.open(rendered.pdf.name, "rb") as stored:
        assert body == stored.read()
    assert body.startswith(b"%PDF")
    if shutil.which("pdftotext"):  # read back: the factory's name and the code are printed
        path = tmp_path / "read.pdf"
        path.write_bytes(body)
        text = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert rendered.code in text
        assert "东莞华美制衣有限公司" in text


def test_a_client_may_ask_for_a_pdf_and_errors_stay_json(rendered, api):
    asked = api.get(_url(rendered), HTTP_ACCEPT="application/pdf")
    assert asked.status_code == 200
    assert asked["Content-Type"] == "application/pdf"
    missing = api.get("/api/v1/certificates/999999/pdf/", HTTP_ACCEPT="application/pdf")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/json"
    assert missing.json()["errors"][0]["code"] == "not_found"


def test_not_rendered_yet_is_409_with_retry_after(world, api):
    pending = Certificate.objects.create(enrolment=world.enrolment)
    response = api.get(_url(pending))
    assert response.status_code == 409
    assert response["Retry-After"] == "60"
    [error] = response.json()["errors"]
    assert error["code"] == "not_rendered"


def test_outsiders_get_404_and_a_revoked_pdf_is_the_ilos(
    rendered, other_key, provider_acting_key, ilo_key, api
):
    for outsider in (other_key, provider_acting_key):
        response = key_client(outsider[1]).get(_url(rendered))
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"
    Certificate.objects.filter(pk=rendered.pk).update(
        status=Certificate.Status.REVOKED, revoked_at=timezone.now(), revocation_reason="Error."
    )
    assert api.get(_url(rendered)).status_code == 404  # the brand: as on the page
    assert key_client(ilo_key[1]).get(_url(rendered)).status_code == 200


def test_a_missing_file_is_404_and_recorded(rendered, api):
    default_storage.delete(rendered.pdf.name)
    response = api.get(_url(rendered))
    assert response.status_code == 404
    rendered.refresh_from_db()
    assert "cannot be opened" in rendered.last_error


# --- Names with their language -------------------------------------------------------------


def test_the_catalogue_gives_titles_with_their_language(api, module_1):
    response = api.get(f"/api/v1/modules/{module_1.pk}/")
    assert response.status_code == 200
    module = response.json()
    titles = {t["language"]: t["name"] for t in module["titles"]}
    assert titles["en"] == "Workplace Cooperation"
    assert titles["zh-hans"] == "工作场所合作"
    for kpi in module["kpis"]:
        assert kpi["names"][0] == {"language": "en", "name": kpi["name"]}
    listed = api.get("/api/v1/modules/").json()
    assert listed["count"] == Module.objects.count()


def test_a_title_an_admin_wrote_has_only_english(api, module_1):
    Module.objects.filter(pk=module_1.pk).update(title="Our own words")
    titles = api.get(f"/api/v1/modules/{module_1.pk}/").json()["titles"]
    assert titles == [{"language": "en", "name": "Our own words"}]


def test_a_supplier_gives_its_factorys_names_with_their_language(world, api):
    world.factory.language = "zh-hans"
    world.factory.save()
    factory = api.get(f"/api/v1/suppliers/{world.link.pk}/").json()["factory"]
    assert factory["names"] == [
        {"language": "zh-hans", "name": "东莞华美制衣有限公司"},
        {"language": "zh-Latn", "name": "Dongguan Huamei Garment"},
    ]
    # The list keeps its shape (the names are the detail's).
    assert "names" not in api.get("/api/v1/suppliers/").json()["results"][0]["factory"]
