"""The OpenAPI schema is valid, describes every endpoint with examples, and its
documentation page works under the site's strict CSP (no inline script or style)."""

from __future__ import annotations

import re

import pytest
import yaml
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema_text(django_db_blocker) -> str:
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/schema/")
    assert response.status_code == 200
    return response.content.decode()


def test_schema_is_valid_openapi_3(schema_text):
    spec = yaml.safe_load(schema_text)
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_every_operation_is_described(schema_text):
    spec = yaml.safe_load(schema_text)
    operations = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) >= 12
    for path, method, operation in operations:
        assert operation.get("summary"), (path, method)
    assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"
    verify = spec["paths"]["/api/v1/certificates/verify/{code}/"]["get"]
    assert "security" not in spec  # no key asked for globally
    assert "ApiKey" not in str(verify.get("security", []))  # public
    assert spec["paths"]["/api/v1/enrolments/"]["get"]["security"] == [{"ApiKey": []}]
    # Examples for the main endpoints.
    assert "examples" in str(spec["paths"]["/api/v1/enrolments/"]["post"])
    assert "examples" in str(spec["paths"]["/api/v1/suppliers/"]["get"])


def test_docs_page_loads_no_inline_script_or_style(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Content-Security-Policy" in response
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # every script is a file
    assert "<style" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    script = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1)
    js = client.get(script.replace("&amp;", "&"))
    assert js.status_code == 200
    assert js["Content-Type"].startswith("application/javascript")
    assert "/api/v1/schema/" in js.content.decode()
