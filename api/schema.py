"""The key's security scheme in the OpenAPI schema."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class OrganisationKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "api.authentication.OrganisationKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: a key created on the organisation's API keys page.",
        }


ERROR_SCHEMA = {
    "type": "object",
    "description": "The one shape of every answer that is not a success (api/errors.py).",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {
                        "type": "string",
                        "nullable": True,
                        "description": "The request's field (nested: `rows.3.country`); "
                        "null for the whole request.",
                    },
                    "code": {"type": "string", "example": "refused"},
                    "message": {"type": "string"},
                },
                "required": ["field", "code", "message"],
            },
        }
    },
    "required": ["errors"],
}

# The answers any operation may give besides its own: (status, when, for which operations).
ERRORS = [
    ("400", "The request is not valid or is refused: each error names its field.", "any"),
    ("401", "No API key, or one that is unknown, revoked or expired.", "keyed"),
    ("403", "The key may not do this (a read-only key writing, another role's work).", "keyed"),
    ("404", "Not found, or outside the key's organisation (the same answer).", "object"),
    ("429", "Over the key's rate limit: wait the `Retry-After` header's seconds.", "any"),
]


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: Any) -> Any:
    """drf-spectacular post-processing: every operation declares the error answers it may
    give, in the one error shape, so that a client generated from the schema alone knows
    them (a refusal is a declared 400, not a surprise)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, item in result.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            # A public operation (the certificate check) declares no key, or an optional one.
            security = operation.get("security") or []
            keyed = bool(security) and {} not in security
            for status, description, applies in ERRORS:
                if status in operation["responses"]:
                    continue
                if applies == "keyed" and not keyed:
                    continue
                if applies == "object" and "{" not in path:
                    continue
                operation["responses"][status] = {"description": description, "content": body}
    return result
