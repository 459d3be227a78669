"""Requests authenticate with an organisation's key: ``Authorization: Api-Key <key>``
(``Bearer <key>`` is accepted too, for generic clients)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from api import services
from api.models import OrganisationAPIKey
from score_portal.scope import assume_scope

SCHEMES = ("api-key", "bearer")
INVALID = _("The API key is not valid: unknown, revoked or expired.")


class OrganisationKeyAuthentication(BaseAuthentication):
    """The request's user is the key's creator (for the audit trail) acting with the key's
    scope only (``assume_scope``); ``request.auth`` is the key."""

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[Any, OrganisationAPIKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in SCHEMES:
            return None
        if len(header) != 2:
            raise AuthenticationFailed(INVALID)
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(INVALID) from None
        # The library's lookup (by the key's prefix, then its hash checked), with the
        # organisation and creator in the same query.
        prefix = secret.partition(".")[0]
        key = (
            OrganisationAPIKey.objects.select_related("organisation", "created_by")
            .filter(prefix=prefix, revoked=False)
            .first()
        )
        if key is None or not key.is_valid(secret):
            raise AuthenticationFailed(INVALID)
        creator = key.created_by
        # A key of a deactivated organisation, or whose creator's account was closed, is
        # refused: an organisation's admin creates a new one.
        if (
            key.has_expired
            or not key.organisation.is_active
            or creator is None
            or not creator.is_active
        ):
            raise AuthenticationFailed(INVALID)
        scope = key.scope
        assume_scope(creator, scope)
        request._request.scope = scope  # what the pages' filters read (request.scope)
        services.record_use(key=key)
        return creator, key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
