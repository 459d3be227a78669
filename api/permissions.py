from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from api.models import OrganisationAPIKey


class HasOrganisationKey(BasePermission):
    """Every endpoint needs a key; writes need an acting key (a read-only key gets 403)."""

    message = _("This API key is read-only.")

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, OrganisationAPIKey):
            return False
        return request.method in SAFE_METHODS or key.is_acting
