"""``Idempotency-Key`` on POST: the first answer (status and body) is stored per key and
idempotency key; a retry with the same request gets it again (``Idempotent-Replayed:
true``), the same idempotency key with a different request gets 422, and one arriving while
the first is still being answered gets 409. An error raised by the first request is not
stored: a retry runs again."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api import services
from api.errors import one_error

HEADER = "Idempotency-Key"
MAX_LENGTH = 255


def _plain(value: Any) -> Any:
    """A sent file by its content (two files of one name are different requests)."""
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return f"file:{value.name}:{digest.hexdigest()}"
    return value


def _fingerprint(request: Request) -> str:
    data = request.data
    if hasattr(data, "lists"):  # a form (multipart): every value of every field
        data = {name: [_plain(v) for v in values] for name, values in data.lists()}
    payload = json.dumps([request.method, request.path, data], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        idempotency_key = request.headers.get(HEADER, "").strip()
        if not idempotency_key:
            return handler(view, request, *args, **kwargs)
        if len(idempotency_key) > MAX_LENGTH:
            return one_error(
                _("The Idempotency-Key is longer than %(max)s characters.") % {"max": MAX_LENGTH},
                code="invalid",
                status=400,
            )
        api_key = request.auth
        try:
            stored = services.reserve(
                key=api_key, idempotency_key=idempotency_key, fingerprint=_fingerprint(request)
            )
        except services.IdempotencyConflict as conflict:
            code = "idempotency_key_reused" if conflict.status == 422 else "request_in_progress"
            return one_error(str(conflict), code=code, status=conflict.status)
        if stored is not None:
            status, body = stored
            return Response(body, status=status, headers={"Idempotent-Replayed": "true"})
        try:
            response = handler(view, request, *args, **kwargs)
        except BaseException:
            services.release(key=api_key, idempotency_key=idempotency_key)
            raise
        body = json.loads(JSONRenderer().render(response.data)) if response.data else None
        services.remember(
            key=api_key, idempotency_key=idempotency_key, status=response.status_code, body=body
        )
        return response

    return wrapper
