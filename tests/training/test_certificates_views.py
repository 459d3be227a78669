"""Certificate pages: who downloads what, the ZIP for brands, ILO actions, the public check."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import client_for
from tests.factories import mark_completed
from tests.tenancy import status_for
from training.models import Certificate, Enrolment, Module
from training.services import certificates as services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _issue(enrolment: Enrolment, capture) -> Certificate:
    mark_completed(enrolment)
    with capture(execute=True):
        certificate = services.request_certificate(enrolment=enrolment)
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED
    return certificate


@pytest.fixture
def certificate(world, django_capture_on_commit_callbacks) -> Certificate:
    return _issue(world.enrolment, django_capture_on_commit_callbacks)


@pytest.fixture
def other_certificate(world, django_capture_on_commit_callbacks) -> Certificate:
    return _issue(world.other_enrolment, django_capture_on_commit_callbacks)


# --- Downloads and tenancy ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("factory_manager", 200),
        ("brand_staff", 200),
        ("brand_viewer", 200),
        ("ilo_admin", 200),
        ("other_brand_staff", 404),
        ("other_factory_manager", 404),
        ("trainer", 404),
        ("provider_staff", 404),
        (None, 302),  # anonymous: sign in first
    ],
)
@pytest.mark.parametrize("view", ["certificate_pdf", "certificate_detail"])
def test_who_downloads_a_certificate(request, certificate, persona, expected, view):
    url = reverse(f"training:{view}", args=[certificate.pk])
    assert status_for(request, persona, url) == expected


def test_the_download_is_the_pdf(certificate, factory_manager):
    response = client_for(factory_manager).get(
        reverse("training:certificate_pdf", args=[certificate.pk])
    )
    assert response["Content-Type"] == "application/pdf"
    assert certificate.code in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_a_missing_certificate_is_404_like_a_foreign_one(certificate, brand_staff):
    client = client_for(brand_staff)
    assert client.get(reverse("training:certificate_pdf", args=[999_999])).status_code == 404


def test_a_pending_certificate_has_nothing_to_download(
    world, factory_manager, django_capture_on_commit_callbacks
):
    mark_completed(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False):
        pending = services.request_certificate(enrolment=world.enrolment)
    client = client_for(factory_manager)
    assert client.get(reverse("training:certificate_pdf", args=[pending.pk])).status_code == 404
    page = client.get(reverse("training:certificate_detail", args=[pending.pk]))
    assert "being prepared" in page.content.decode()


def test_the_list_shows_only_the_users_certificates(
    certificate, other_certificate, brand_staff, factory_manager, other_brand_staff
):
    page = client_for(brand_staff).get(reverse("training:certificate_list")).content.decode()
    assert certificate.code in page and other_certificate.code not in page
    assert "Download all as ZIP" in page
    page = client_for(factory_manager).get(reverse("training:certificate_list")).content.decode()
    assert certificate.code in page and "Download all as ZIP" not in page
    page = client_for(other_brand_staff).get(reverse("training:certificate_list")).content.decode()
    assert other_certificate.code in page and certificate.code not in page


def test_the_list_costs_the_same_queries_whatever_its_length(
    world, brand_staff, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    _issue(world.enrolment, django_capture_on_commit_callbacks)
    client = client_for(brand_staff)
    url = reverse("training:certificate_list")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(url)
    # A second funded factory with a certificate.
    from tests.factories import FactoryFactory
    from training.services.enrolment import enrol_factory

    second = enrol_factory(
        factory=FactoryFactory(name="Second factory"),
        module=world.enrolment.module,
        partnership=world.partnership,
        enrolled_by=brand_staff,
    )
    _issue(second, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as two:
        assert client.get(url).content.decode().count("Download PDF") == 2
    assert len(two) == len(one)


# --- The ZIP for brands -------------------------------------------------------------------


def _zip_names(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response.streaming  # streamed, not built in memory first
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    for name in archive.namelist():
        assert archive.read(name).startswith(b"%PDF")
    return archive.namelist()


def test_brand_staff_download_their_suppliers_certificates_as_a_zip(
    certificate, other_certificate, brand_staff, other_brand_staff
):
    url = reverse("training:certificates_zip")
    names = _zip_names(client_for(brand_staff).get(url))
    assert names == [f"东莞华美制衣有限公司 - M1 - {certificate.code}.pdf"]
    names = _zip_names(client_for(other_brand_staff).get(url))
    assert names == [f"Özdemir Tekstil A.Ş. - M1 - {other_certificate.code}.pdf"]


def test_the_zip_filters_by_module_and_date(certificate, brand_staff, catalogue):
    client = client_for(brand_staff)
    url = reverse("training:certificates_zip")
    today = timezone.localdate()
    module_1 = certificate.enrolment.module
    other_module = Module.objects.exclude(pk=module_1.pk).first()
    assert len(_zip_names(client.get(url, {"module": module_1.pk}))) == 1
    assert _zip_names(client.get(url, {"module": other_module.pk})) == []
    assert len(_zip_names(client.get(url, {"issued_from": today.isoformat()}))) == 1
    tomorrow = today + datetime.timedelta(days=1)
    assert _zip_names(client.get(url, {"issued_from": tomorrow.isoformat()})) == []
    yesterday = today - datetime.timedelta(days=1)
    assert _zip_names(client.get(url, {"issued_to": yesterday.isoformat()})) == []


def test_revoked_certificates_stay_out_of_the_zip(certificate, brand_staff, ilo_admin):
    services.revoke_certificate(certificate=certificate, actor=ilo_admin, reason="Error")
    assert _zip_names(client_for(brand_staff).get(reverse("training:certificates_zip"))) == []


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("brand_staff", 200),
        ("ilo_admin", 200),
        ("factory_manager", 404),
        ("trainer", 404),
        ("provider_staff", 404),
        (None, 302),
    ],
)
def test_who_downloads_the_zip(request, certificate, persona, expected):
    assert status_for(request, persona, reverse("training:certificates_zip")) == expected


# --- ILO actions --------------------------------------------------------------------------


def test_ilo_admin_revokes_and_reissues_from_the_page(
    certificate, ilo_admin, django_capture_on_commit_callbacks
):
    client = client_for(ilo_admin)
    page = client.get(reverse("training:certificate_detail", args=[certificate.pk]))
    assert "Revoke" in page.content.decode()
    response = client.post(reverse("training:certificate_revoke", args=[certificate.pk]), {})
    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED  # a reason is required
    client.post(
        reverse("training:certificate_revoke", args=[certificate.pk]),
        {"reason": "Issued to the wrong factory"},
    )
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.REVOKED
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("training:certificate_reissue", args=[certificate.pk]))
    new = Certificate.objects.get(replaces=certificate)
    assert response.url == new.get_absolute_url()
    new.refresh_from_db()
    assert new.status == Certificate.Status.ISSUED


@pytest.mark.parametrize("persona", ["brand_staff", "factory_manager", "other_brand_staff"])
@pytest.mark.parametrize("action", ["certificate_revoke", "certificate_reissue"])
def test_only_the_ilo_revokes_or_reissues(request, certificate, persona, action):
    client = client_for(request.getfixturevalue(persona))
    response = client.post(reverse(f"training:{action}", args=[certificate.pk]), {"reason": "x"})
    assert response.status_code == 404
    certificate.refresh_from_db()
    assert certificate.status == Certificate.Status.ISSUED


# --- The public check ---------------------------------------------------------------------


def test_anyone_verifies_a_valid_certificate_and_sees_only_the_essentials(certificate):
    response = client_for(None).get(f"/verify/{certificate.code}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Valid certificate" in page
    assert "东莞华美制衣有限公司" in page
    assert certificate.enrolment.module.title in page
    assert certificate.code in page
    # Nothing else: not the funder, the trainer, the provider or links into the portal.
    for secret in ("Brand A", "Provider P", "trainer@", "/training/", "/media/", "A-001"):
        assert secret not in page


def test_codes_are_checked_case_insensitively(certificate):
    response = client_for(None).get(f"/verify/{certificate.code.lower()}/")
    assert response.status_code == 200


def test_a_revoked_certificate_verifies_as_revoked(certificate, ilo_admin):
    services.revoke_certificate(certificate=certificate, actor=ilo_admin, reason="Fraud")
    page = client_for(None).get(f"/verify/{certificate.code}/").content.decode()
    assert "has been revoked" in page
    assert "Fraud" not in page  # the reason is for the ILO


def test_a_replaced_certificate_verifies_as_replaced_and_the_new_one_as_valid(
    certificate, ilo_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        new = services.reissue_certificate(certificate=certificate, actor=ilo_admin)
    old_page = client_for(None).get(f"/verify/{certificate.code}/").content.decode()
    assert "replaced by a newer one" in old_page
    assert new.code not in old_page
    new_page = client_for(None).get(f"/verify/{new.code}/").content.decode()
    assert "Valid certificate" in new_page


@pytest.mark.parametrize("code", ["AAAA-BBBB-CCCC-DDDD", "not-a-code", "x" * 300])
def test_an_unknown_code_is_not_found(db, code):
    response = client_for(None).get(f"/verify/{code}/")
    assert response.status_code == 404
    assert "No certificate has this number" in response.content.decode()


def test_a_pending_certificate_does_not_verify_yet(world, django_capture_on_commit_callbacks):
    mark_completed(world.enrolment)
    with django_capture_on_commit_callbacks(execute=False):
        pending = services.request_certificate(enrolment=world.enrolment)
    assert client_for(None).get(f"/verify/{pending.code}/").status_code == 404


def test_the_check_is_rate_limited_per_address(certificate, settings):
    settings.CERTIFICATE_VERIFY_RATE_PER_MINUTE = 3
    client = client_for(None)
    url = f"/verify/{certificate.code}/"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(url)
    assert response.status_code == 429
    assert "Please wait a minute" in response.content.decode()
    # Unknown codes count too: guessing is limited the same way.
    assert client.get("/verify/AAAA-BBBB-CCCC-DDDD/").status_code == 429
    # Another address is not limited.
    other = client_for(None)
    assert other.get(url, REMOTE_ADDR="198.51.100.7").status_code == 200


def test_the_check_works_when_the_cache_is_down(certificate, monkeypatch):
    class DownCache:
        def add(self, *args, **kwargs):
            raise ConnectionError("redis is down")

        incr = add

    monkeypatch.setattr("score_portal.ratelimit.cache", DownCache())
    assert client_for(None).get(f"/verify/{certificate.code}/").status_code == 200


def test_behind_a_trusted_proxy_each_visitor_has_their_own_limit(certificate, settings):
    settings.CERTIFICATE_VERIFY_RATE_PER_MINUTE = 2
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    client = client_for(None)
    url = f"/verify/{certificate.code}/"
    first = {"HTTP_X_FORWARDED_FOR": "203.0.113.1", "REMOTE_ADDR": "10.0.0.1"}
    second = {"HTTP_X_FORWARDED_FOR": "203.0.113.2", "REMOTE_ADDR": "10.0.0.1"}
    assert [client.get(url, **first).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(url, **second).status_code == 200


def test_a_forwarded_for_shorter_than_the_proxies_counts_the_socket_address(certificate, settings):
    """allauth refuses to guess from an X-Forwarded-For with fewer hops than trusted proxies;
    the page then limits the socket's address instead of failing."""
    settings.CERTIFICATE_VERIFY_RATE_PER_MINUTE = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    client = client_for(None)
    url = f"/verify/{certificate.code}/"
    short = {"HTTP_X_FORWARDED_FOR": "203.0.113.1", "REMOTE_ADDR": "10.0.0.9"}
    assert [client.get(url, **short).status_code for _ in range(2)] == [200, 429]
    assert client.get(url, REMOTE_ADDR="10.0.0.8").status_code == 200


# --- Finding a certificate ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "linked"),
    [("factory_manager", True), ("brand_staff", True), ("ilo_admin", True), ("trainer", False)],
)
def test_the_enrolment_page_links_its_certificate(certificate, persona, linked, request):
    """Whoever may download the certificate finds it on the enrolment; the trainer may not."""
    user = request.getfixturevalue(persona)
    response = client_for(user).get(
        reverse("training:enrolment_detail", args=[certificate.enrolment_id])
    )
    assert response.status_code == 200
    pdf_url = reverse("training:certificate_pdf", args=[certificate.pk])
    assert (pdf_url in response.content.decode()) is linked


def test_a_revoked_certificate_is_not_linked_from_the_enrolment(certificate, ilo_admin):
    services.revoke_certificate(
        certificate=certificate, actor=ilo_admin, reason="Wrong factory name"
    )
    response = client_for(ilo_admin).get(
        reverse("training:enrolment_detail", args=[certificate.enrolment_id])
    )
    assert reverse("training:certificate_pdf", args=[certificate.pk]) not in (
        response.content.decode()
    )


@pytest.mark.parametrize(
    ("persona", "in_nav"),
    [
        ("factory_manager", True),
        ("brand_staff", True),
        ("ilo_admin", True),
        ("trainer", False),
        ("provider_staff", False),
    ],
)
def test_certificates_are_in_the_navigation_of_those_who_hold_them(request, persona, in_nav):
    user = request.getfixturevalue(persona)
    response = client_for(user).get(reverse("home"))
    nav = [item["url"] for item in response.context["nav_items"]]
    assert (reverse("training:certificate_list") in nav) is in_nav


def test_no_zip_to_download_when_there_is_no_certificate(world, brand_staff):
    page = client_for(brand_staff).get(reverse("training:certificate_list")).content.decode()
    assert "Download all as ZIP" not in page


def test_no_zip_when_the_filter_leaves_nothing(certificate, brand_staff):
    url = reverse("training:certificate_list")
    assert "Download all as ZIP" in client_for(brand_staff).get(url).content.decode()
    page = client_for(brand_staff).get(url, {"issued_to": "2000-01-01"}).content.decode()
    assert "Download all as ZIP" not in page
