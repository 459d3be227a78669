"""No input to the API answers 500: every API route, with an acting key, gets hostile path
values, query values and bodies (as tests/score_portal/test_every_input.py does for the
pages, which reach the API only without a key)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from api.urls import router
from tests.api.conftest import key_client
from tests.score_portal.test_every_input import HOSTILE, INTEGERS, QUERY_KEYS
from training.models import Cohort
from training.services.enrolment import confirm_enrolment, name_participants

pytestmark = pytest.mark.django_db

API_QUERY_KEYS = [
    *QUERY_KEYS,
    "page_size",
    "ordering",
    "modified_since",
    "include_ended",
    "module_code",
    "factory",
    "starts_from",
    "enrolment",
]
BODY_KEYS = [
    *["factory", "module", "partnership", "cohort", "placement_reason", "reason"],
    *["rows", "mode", "file", "same", "outcome"],
    *["enrolments", "day", "present", "kind", "visited_on", "notes", "actions_reviewed"],
    *["kpi", "value", "measured_on"],
]


def _routes():
    for url in router.urls:
        if url.name != "certificate-verify":  # below, with codes
            yield f"api:{url.name}", "pk" in url.pattern.regex.groupindex


@pytest.fixture(params=["brand", "provider"])
def key_api(request, acting_key, provider_acting_key):
    """Brand A's acting key, then the cohort's provider's (it reaches the delivery routes)."""
    key = acting_key if request.param == "brand" else provider_acting_key
    return key_client(key[1])


def _real_id(name: str, world, certificate) -> int:
    """A real object of the route's kind, so a hostile input meets a route's own checks."""
    prefixes = {
        "api:import": world.supplier_import.pk,
        "api:cohort": world.cohort.pk,
        "api:certificate": certificate.pk,
        "api:module": world.enrolment.module_id,
        "api:supplier": world.link.pk,
        "api:partnership": world.partnership.pk,
    }
    return next(
        (pk for prefix, pk in prefixes.items() if name.startswith(prefix)), world.enrolment.pk
    )


def test_no_input_answers_500(world, key_api, certificate, module_1, factory_manager, settings):
    settings.API_RATE_READ = settings.API_RATE_WRITE = 100_000  # every request reaches its view
    # The world's enrolment running, its people named, its classroom yesterday and today: the
    # delivery routes reach their services.
    confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    name_participants(
        enrolment=world.enrolment,
        actor=factory_manager,
        participants=[{"name": "王芳", "position": "", "role": "manager", "gender": "woman"}],
    )
    today = datetime.date.today()
    Cohort.objects.filter(pk=world.cohort.pk).update(
        classroom_start=today - datetime.timedelta(days=1), classroom_end=today
    )
    client = key_api
    client.raise_request_exception = False
    failures = []
    throttled = []

    def check(method, url, data=None, **extra):
        response = getattr(client, method)(url, data or {}, **extra)
        if response.status_code == 429:
            throttled.append(url)
        if response.status_code >= 500:
            failures.append(f"{method} {url[:120]} {str(data)[:80]}: {response.status_code}")
        if response.status_code >= 400 and response["Content-Type"] == "application/json":
            assert set(response.json()) == {"errors"}, (url, response.json())
        return response

    for name, detail in _routes():
        ids = [str(_real_id(name, world, certificate)), *INTEGERS] if detail else [None]
        for pk in ids:
            # An id the route refuses (too long) is put in by hand: it must 404, not 500.
            extra = {"row": "1"} if name == "api:import-decide" else {}
            if "kpi-reading" in name and name != "api:enrolment-kpi-readings":
                extra = {"reading": "1"}
            url = (
                reverse(name, kwargs={"pk": "1", **extra}).replace("/1/", f"/{pk}/", 1)
                if pk
                else reverse(name)
            )
            check("get", url)
            for value in HOSTILE:
                check("get", url, dict.fromkeys(API_QUERY_KEYS, value))
                check("post", url, dict.fromkeys(BODY_KEYS, value), format="json")
            check("post", url, ["not", "an", "object"], format="json")
            check("post", url, {"factory": [1], "module": {"a": 1}}, format="json")
            check("post", url, data="{broken", content_type="application/json")
    for code in [certificate.code, "x", "Z" * 40, "----"]:
        check("get", reverse("api:certificate-verify", kwargs={"code": code}))
    check("post", reverse("api:import-list"), {"rows": [{"name": "\x00"}], "mode": "whole"})
    check("post", reverse("api:import-list"), {"rows": [{"name": ["x"]}, "y"]})
    check("post", reverse("api:enrolment-list"), {"factory": world.factory.pk},
          HTTP_IDEMPOTENCY_KEY="k" * 300)  # fmt: skip
    assert not failures, "\n".join(failures)
    assert not throttled
