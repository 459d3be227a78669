"""One error shape for every answer that is not a success:

    {"errors": [{"field": "module" | null, "code": "invalid", "message": "..."}]}

``field`` names the request's field (nested ones with dots: ``rows.3.country``), null
for an error about the whole request.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

NON_FIELD = ("non_field_errors", "__all__")


def _flatten(details: Any, field: str | None = None) -> list[dict[str, Any]]:
    if isinstance(details, dict) and set(details) == {"message", "code"}:
        return [{"field": field, "code": details["code"], "message": str(details["message"])}]
    if isinstance(details, dict):
        errors = []
        for name, inner in details.items():
            inner_field = None if name in NON_FIELD else str(name)
            if field is not None and inner_field is not None:
                inner_field = f"{field}.{inner_field}"
            elif field is not None:
                inner_field = field
            errors.extend(_flatten(inner, inner_field))
        return errors
    if isinstance(details, list):
        errors = []
        for index, inner in enumerate(details):
            # A list of rows (dicts) gets the row's index in the field's name.
            inner_field = field
            if isinstance(inner, dict) and set(inner) != {"message", "code"}:
                inner_field = f"{field}.{index}" if field is not None else str(index)
            errors.extend(_flatten(inner, inner_field))
        return errors
    return [{"field": field, "code": "error", "message": str(details)}]


def error_response(errors: list[dict[str, Any]], status: int, **headers: str) -> Response:
    return Response({"errors": errors}, status=status, headers=headers or None)


def one_error(message: str, *, code: str, status: int, field: str | None = None) -> Response:
    return error_response([{"field": field, "code": code, "message": message}], status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # a bug: Django's 500
    response.data = {"errors": _flatten(exc.get_full_details())}
    return response
