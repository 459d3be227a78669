"""Per-key rate limits: reads and writes counted apart, per key (per address without one).
Over the limit: 429 with Retry-After. Rates come from settings (API_RATE_READ/WRITE, per
minute), read on each request so a test or an operator's change applies at once. Counted
in fixed one-minute windows (``score_portal.ratelimit``: one counter a request)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from api.models import OrganisationAPIKey
from score_portal import ratelimit


class _WindowThrottle(BaseThrottle):
    _verdict: ratelimit.Verdict | None = None

    def bucket_and_limit(self, request: Request) -> tuple[str, int]:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        bucket, limit = self.bucket_and_limit(request)
        self._verdict = ratelimit.hit(f"api:{bucket}", limit=limit)
        return self._verdict.allowed

    def wait(self) -> float | None:
        return self._verdict.retry_after if self._verdict else None


class KeyRateThrottle(_WindowThrottle):
    def bucket_and_limit(self, request: Request) -> tuple[str, int]:
        reading = request.method in SAFE_METHODS
        key = request.auth
        ident = f"key-{key.pk}" if isinstance(key, OrganisationAPIKey) else self.get_ident(request)
        if reading:
            return f"key-read:{ident}", settings.API_RATE_READ
        return f"key-write:{ident}", settings.API_RATE_WRITE


class VerifyRateThrottle(_WindowThrottle):
    """The public certificate check: per client address, as the page's limit."""

    def bucket_and_limit(self, request: Request) -> tuple[str, int]:
        return f"verify:{self.get_ident(request)}", settings.CERTIFICATE_VERIFY_RATE_PER_MINUTE
