"""Tenancy on the API, as tests/tenancy.py does for the pages: another brand's key gets 404
for every object endpoint of brand A's objects, exactly like a missing id; brand A's own key
gets each of them."""

from __future__ import annotations

import datetime
import re

import pytest

from suppliers.models import SupplierImportRow
from tests.api.conftest import key_client
from training.models import KPIReading

pytestmark = pytest.mark.django_db

# (method, URL template over the world's objects). Every detail endpoint of the API.
DETAIL_ENDPOINTS = [
    ("get", "/api/v1/suppliers/{link}/"),
    ("get", "/api/v1/enrolments/{enrolment}/"),
    ("get", "/api/v1/enrolments/{enrolment}/progress/"),
    ("get", "/api/v1/enrolments/{enrolment}/kpi-readings/"),
    ("post", "/api/v1/enrolments/{enrolment}/withdraw/"),
    ("post", "/api/v1/enrolments/{enrolment}/visits/"),
    ("post", "/api/v1/enrolments/{enrolment}/kpi-readings/"),
    ("post", "/api/v1/enrolments/{enrolment}/kpi-readings/{reading}/correct/"),
    ("post", "/api/v1/enrolments/{enrolment}/kpi-readings/{reading}/delete/"),
    ("get", "/api/v1/certificates/{certificate}/"),
    ("get", "/api/v1/certificates/{certificate}/pdf/"),
    ("get", "/api/v1/partnerships/{partnership}/"),
    ("get", "/api/v1/imports/{supplier_import}/"),
    ("get", "/api/v1/imports/{supplier_import}/rows/"),
    ("post", "/api/v1/imports/{supplier_import}/confirm/"),
    ("post", "/api/v1/imports/{supplier_import}/rows/{row}/decide/"),
]
# Cohorts belong to providers: another provider's key (and any brand's) gets 404 for each.
COHORT_ENDPOINTS = [
    ("get", "/api/v1/cohorts/{cohort}/"),
    ("get", "/api/v1/cohorts/{cohort}/attendance/"),
    ("post", "/api/v1/cohorts/{cohort}/attendance/"),
    ("post", "/api/v1/cohorts/{cohort}/place/"),
]
# The catalogue is the programme's: every key reads it.
PUBLIC_DETAIL = {"modules/"}


def _ids(world, certificate) -> dict[str, int]:
    row = SupplierImportRow.objects.get_or_create(
        supplier_import=world.supplier_import,
        line=2,
        defaults={"outcome": "review", "data": {"name": "A Mill"}, "candidate": world.factory},
    )[0]
    reading = KPIReading.objects.get_or_create(
        enrolment=world.enrolment,
        kind="baseline",
        kpi=world.enrolment.module.kpis.order_by("pk").first(),
        defaults={"value": 1, "measured_on": datetime.date.today()},
    )[0]
    return {
        "reading": reading.pk,
        "cohort": world.cohort.pk,
        "row": row.pk,
        "link": world.link.pk,
        "enrolment": world.enrolment.pk,
        "certificate": certificate.pk,
        "partnership": world.partnership.pk,
        "supplier_import": world.supplier_import.pk,
    }


def test_every_detail_endpoint_is_listed():
    """A new detail route of the API must join DETAIL_ENDPOINTS or COHORT_ENDPOINTS."""
    from api.urls import router

    listed = {
        url.replace("/api/v1/", "").split("/", 1)[0] + "/" + "/".join(url.split("/")[5:-1])
        for _method, url in DETAIL_ENDPOINTS + COHORT_ENDPOINTS
    } | PUBLIC_DETAIL
    routes = {
        re.sub(
            r"\(\?P<(\w+)>[^)]*\)",
            r"{\1}",
            route.lstrip("^").split("/", 1)[0] + "/" + "/".join(route.split("/")[2:-1]),
        )
        for route in (str(url.pattern) for url in router.urls)
        if "(?P<pk>" in route and "(?P<format>" not in route
    }
    assert routes == listed


@pytest.mark.parametrize(("method", "url"), DETAIL_ENDPOINTS)
def test_another_brands_key_gets_404(world, certificate, other_key, method, url, acting_key):
    target = url.format(**_ids(world, certificate))
    outsider = getattr(key_client(other_key[1]), method)(target, {"reason": "test"})
    assert outsider.status_code == 404, outsider.content
    assert outsider.json() == {
        "errors": [{"field": None, "code": "not_found", "message": "Not found."}]
    }
    # The same as an id that does not exist.
    missing = getattr(key_client(other_key[1]), method)(
        url.format(**dict.fromkeys(_ids(world, certificate), 999_999)), {"reason": "test"}
    )
    assert missing.status_code == 404
    assert missing.json() == outsider.json()
    # The owner's read-only views answer (writes: see test_enrolments).
    if method == "get":
        kpis_hidden = "kpi-readings" in url  # the brand sees readings only with consent
        owner = key_client(acting_key[1]).get(target)
        assert owner.status_code == (403 if kpis_hidden else 200), owner.content
    world.enrolment.refresh_from_db()
    assert world.enrolment.status == "pending"


def test_lists_hold_only_the_keys_organisation(world, certificate, other_key):
    client = key_client(other_key[1])
    enrolments = client.get("/api/v1/enrolments/").json()["results"]
    assert [e["id"] for e in enrolments] == [world.other_enrolment.pk]
    suppliers = client.get("/api/v1/suppliers/").json()["results"]
    assert [s["factory"]["id"] for s in suppliers] == [world.other_factory.pk]
    assert client.get("/api/v1/certificates/").json()["count"] == 0
    partnerships = client.get("/api/v1/partnerships/").json()["results"]
    assert [p["id"] for p in partnerships] == [world.other_partnership.pk]
    assert client.get("/api/v1/cohorts/").json()["count"] == 0


def test_cohorts_for_their_provider_only(world, provider_key, acting_key):
    url = f"/api/v1/cohorts/{world.cohort.pk}/"
    assert key_client(provider_key[1]).get(url).status_code == 200
    assert key_client(acting_key[1]).get(url).status_code == 404  # a brand's key


@pytest.mark.parametrize(("method", "url"), COHORT_ENDPOINTS)
def test_another_providers_key_gets_404_on_cohorts(
    world, certificate, method, url, other_provider_key, acting_key, provider_key
):
    target = url.format(**_ids(world, certificate))
    body = {"enrolments": [world.enrolment.pk], "day": "2026-01-01", "present": []}
    for outsider in (other_provider_key, acting_key):
        response = getattr(key_client(outsider[1]), method)(target, body)
        assert response.status_code == 404, response.content
        missing = getattr(key_client(outsider[1]), method)(
            url.format(**dict.fromkeys(_ids(world, certificate), 999_999)), body
        )
        assert missing.status_code == 404
        assert missing.json() == response.json()
    # The provider's own read-only key reads them, and writes none (403).
    own = getattr(key_client(provider_key[1]), method)(target, body)
    assert own.status_code == (200 if method == "get" else 403), own.content


def test_a_read_only_key_writes_nothing(world, certificate, read_only_key, provider_key):
    """Every POST route of the API answers a read-only key 403, before looking at anything."""
    from api.urls import router

    ids = _ids(world, certificate)
    posts = [url for method, url in DETAIL_ENDPOINTS + COHORT_ENDPOINTS if method == "post"]
    posts += ["/api/v1/enrolments/", "/api/v1/imports/"]
    for key in (read_only_key, provider_key):
        for url in posts:
            response = key_client(key[1]).post(url.format(**ids), {"reason": "test"})
            assert response.status_code == 403, (url, response.content)
            assert response.json()["errors"][0]["message"] == "This API key is read-only."
    # Every POST route of the router is among them.
    routes = {
        re.sub(r"\(\?P<\w+>[^)]*\)", "{}", str(url.pattern).lstrip("^").rstrip("$"))
        for url in router.urls
        if "post" in url.callback.actions and "(?P<format>" not in str(url.pattern)
    }
    listed = {re.sub(r"\{\w+\}", "{}", url.replace("/api/v1/", "")) for url in posts}
    assert routes == listed


def test_a_provider_key_sees_its_cohorts_enrolments_not_others(world, provider_key):
    client = key_client(provider_key[1])
    assert client.get(f"/api/v1/enrolments/{world.enrolment.pk}/").status_code == 200
    assert client.get(f"/api/v1/enrolments/{world.other_enrolment.pk}/").status_code == 404
    # KPI data is the factory's: the provider's staff never read it (the trainer does).
    assert client.get(f"/api/v1/enrolments/{world.enrolment.pk}/kpi-readings/").status_code == 403
