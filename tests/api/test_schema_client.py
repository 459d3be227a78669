"""A client written from the schema alone, as a brand's system would generate one: it knows
operation ids, finds each one's method and path in ``/api/v1/schema/``, sends what the
request schema describes, and checks every answer against the response schema of its status
(``openapi-schema-validator``, the schema's references resolved). With it, a brand's key
imports a supplier list (dry run, a decision on a possible match, confirm), enrols a new
supplier and reads the enrolment's progress."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.test import Client
from openapi_schema_validator import OAS30Validator

from tests.factories import FactoryFactory

pytestmark = pytest.mark.django_db


def _resolved(node: Any, components: dict[str, Any]) -> Any:
    """``node`` with every ``$ref`` to ``#/components/schemas/…`` replaced by its schema."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            return _resolved(components[ref.rsplit("/", 1)[1]], components)
        return {key: _resolved(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(value, components) for value in node]
    return node


class SchemaClient:
    """Calls operations by their id, knowing nothing of the API but its schema."""

    def __init__(self, secret: str) -> None:
        self.http = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        spec = yaml.safe_load(Client().get("/api/v1/schema/").content)
        self.components = spec["components"]["schemas"]
        self.operations = {
            operation["operationId"]: (method, path, operation)
            for path, item in spec["paths"].items()
            for method, operation in item.items()
            if isinstance(operation, dict) and "operationId" in operation
        }
        self.calls: list[tuple[str, int]] = []

    def call(self, operation_id: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        method, template, operation = self.operations[operation_id]
        url = template.format(**params)
        if body is None:
            response = getattr(self.http, method)(url)
        else:
            assert "application/json" in operation["requestBody"]["content"], operation_id
            response = getattr(self.http, method)(url, body, content_type="application/json")
        status = str(response.status_code)
        self.calls.append((operation_id, response.status_code))
        assert status in operation["responses"], (operation_id, status, response.content[:300])
        content = operation["responses"][status].get("content", {})
        if "application/json" not in content:
            return None
        data = response.json()
        schema = _resolved(content["application/json"]["schema"], self.components)
        OAS30Validator(schema).validate(data)  # the answer is what the schema says
        return data


def test_a_schema_driven_client_imports_a_list_enrols_and_reads_progress(world, acting_key):
    client = SchemaClient(acting_key[1])
    existing = FactoryFactory(name="Anatolia Denim Tekstil", address="1 Fabrika Yolu", country="TR")

    # A supplier list as JSON rows: a dry run first, each row's outcome in the answer.
    preview = client.call(
        "imports_create",
        {
            "mode": "additions",
            "rows": [
                {"name": "Anatolia Denim Tekstill", "address": "1 Fabrika Yolu",
                 "country": "TR", "supplier_code": "T-1"},
                {"name": "Ningbo Haitian Textile Co., Ltd.", "address": "9 Haitian Road",
                 "city": "Ningbo", "country": "CN", "supplier_code": "C-1"},
            ],
        },
    )  # fmt: skip
    assert preview["status"] == "previewed" and preview["rows_review"] == 1
    rows = client.call("imports_rows_list", id=preview["id"])["results"]
    review = next(row for row in rows if row["outcome"] == "review")
    assert review["candidate"] == existing.pk
    decided = client.call(
        "imports_rows_decide_create", {"same": True}, id=preview["id"], row=review["id"]
    )
    assert decided["rows_review"] == 0
    assert client.call("imports_confirm_create", id=preview["id"])["status"] == "done"

    # The new supplier, found on the list by its code, enrolled in a module the brand's
    # partnership funds; then its progress.
    suppliers = client.call("suppliers_list")["results"]
    new = next(s for s in suppliers if s["supplier_code"] == "C-1")
    partnership = client.call("partnerships_list")["results"][0]
    module = next(m for m in client.call("modules_list")["results"] if m["code"] == "M1")
    enrolment = client.call(
        "enrolments_create",
        {"factory": new["factory"]["id"], "module": module["id"], "partnership": partnership["id"]},
    )
    assert enrolment["status"] == "pending" and enrolment["factory"]["name"] == (
        "Ningbo Haitian Textile Co., Ltd."
    )
    # Enrolling it again is refused, in the declared error shape, naming the field.
    again = client.call(
        "enrolments_create",
        {"factory": new["factory"]["id"], "module": module["id"], "partnership": partnership["id"]},
    )
    assert again["errors"][0]["code"] == "refused" and again["errors"][0]["message"]
    progress = client.call("enrolments_progress_retrieve", id=enrolment["id"])
    assert progress["enrolment"] == enrolment["id"] and progress["steps"]
    # Every call answered a status its operation declares, with a body its schema allows.
    assert [status for _op, status in client.calls] == [
        201,
        200,
        200,
        200,
        200,
        200,
        200,
        201,
        400,
        200,
    ]
