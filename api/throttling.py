"""Per-key rate limits: reads and writes counted apart, per key (per address without one).
Over the limit: 429 with Retry-After. Rates come from settings (API_RATE_READ/WRITE, per
minute), read on each request so a test or an operator's change applies at once."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.models import OrganisationAPIKey


class KeyRateThrottle(SimpleRateThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = "key-read" if request.method in SAFE_METHODS else "key-write"
        per_minute = settings.API_RATE_READ if self.scope == "key-read" else settings.API_RATE_WRITE
        self.rate = f"{per_minute}/min"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        return None  # set per request in allow_request

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = request.auth
        ident = f"key-{key.pk}" if isinstance(key, OrganisationAPIKey) else self.get_ident(request)
        return f"api-throttle:{self.scope}:{ident}"


class VerifyRateThrottle(SimpleRateThrottle):
    """The public certificate check: per client address, as the page's limit."""

    scope = "verify"

    def get_rate(self) -> str | None:
        return f"{settings.CERTIFICATE_VERIFY_RATE_PER_MINUTE}/min"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return f"api-throttle:verify:{self.get_ident(request)}"
