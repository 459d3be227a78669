"""No input to the API answers 500: every API route, with an acting key, gets hostile path
values, query values and bodies (as tests/score_portal/test_every_input.py does for the
pages, which reach the API only without a key)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from api.urls import router
from tests.score_portal.test_every_input import HOSTILE, INTEGERS, QUERY_KEYS

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
]


def _routes():
    for url in router.urls:
        if url.name != "certificate-verify":  # below, with codes
            yield f"api:{url.name}", "pk" in url.pattern.regex.groupindex


def test_no_input_answers_500(world, api, certificate, module_1, settings):
    settings.API_RATE_READ = settings.API_RATE_WRITE = 100_000  # every request reaches its view
    client = api
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
        real = world.supplier_import.pk if name.startswith("api:import") else world.enrolment.pk
        ids = [str(real), *INTEGERS] if detail else [None]
        for pk in ids:
            # An id the route refuses (too long) is put in by hand: it must 404, not 500.
            extra = {"row": "1"} if name == "api:import-decide" else {}
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
