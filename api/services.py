"""Writes of the API app: keys (create, revoke, last use) and idempotent answers."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import IdempotentRequest, OrganisationAPIKey
from partners.models import Partner
from score_portal.access import can_manage_api_keys
from score_portal.models import User
from score_portal.scope import scope_of

# A key's last use is written at most this often (not on every request).
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class APIKeyError(Exception):
    """A key could not be created or revoked; the message is for the person who tried."""


def _require_manager(actor: User, organisation: Partner) -> None:
    if not can_manage_api_keys(
        scope_of(actor),
        organisation.pk,
        is_ilo_organisation=organisation.kind == Partner.Kind.ILO,
    ):
        raise APIKeyError(_("Only the organisation's administrators manage its API keys."))


def create_key(
    *, organisation: Partner, name: str, access: str, actor: User
) -> tuple[OrganisationAPIKey, str]:
    """Create a named key for ``organisation``; returns the key and its secret, which is
    shown once and stored only hashed."""
    _require_manager(actor, organisation)
    name = name.strip()
    if not name:
        raise APIKeyError(_("Give the key a name."))
    if access not in OrganisationAPIKey.Access.values:
        raise APIKeyError(_("Choose the key's access."))
    key, secret = OrganisationAPIKey.objects.create_key(
        name=name[:50], organisation=organisation, access=access, created_by=actor
    )
    return key, secret


def revoke_key(*, key: OrganisationAPIKey, actor: User) -> OrganisationAPIKey:
    """Revoke ``key`` for good: requests made with it are refused from now on."""
    _require_manager(actor, key.organisation)
    OrganisationAPIKey.objects.filter(pk=key.pk, revoked=False).update(
        revoked=True, revoked_at=timezone.now(), revoked_by=actor
    )
    key.refresh_from_db()
    return key


def record_use(*, key: OrganisationAPIKey) -> None:
    """Note the key's last use (to the minute: one write a minute at most)."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    OrganisationAPIKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
        pk=key.pk,
    ).update(last_used_at=now)
    key.last_used_at = now


# --- Idempotency-Key ----------------------------------------------------------------------


class IdempotencyConflict(Exception):
    """The same Idempotency-Key with another request, or while the first is running."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def reserve(*, key: OrganisationAPIKey, idempotency_key: str, fingerprint: str) -> Any:
    """Claim ``idempotency_key`` for this request (committed at once, so a concurrent retry
    sees it). Returns the stored answer ``(status, body)`` of an earlier request, or None
    when this request is the first and must run."""
    _forget_expired()
    try:
        with transaction.atomic():
            IdempotentRequest.objects.create(
                api_key=key, key=idempotency_key, fingerprint=fingerprint
            )
    except IntegrityError:
        earlier = IdempotentRequest.objects.filter(api_key=key, key=idempotency_key).first()
        if earlier is None:  # it expired and went meanwhile: run as the first
            return reserve(key=key, idempotency_key=idempotency_key, fingerprint=fingerprint)
        if earlier.fingerprint != fingerprint:
            raise IdempotencyConflict(
                _("This Idempotency-Key was used with a different request."), status=422
            ) from None
        if earlier.status_code is None:
            raise IdempotencyConflict(
                _("A request with this Idempotency-Key is still being answered; retry later."),
                status=409,
            ) from None
        return earlier.status_code, earlier.body
    return None


def remember(*, key: OrganisationAPIKey, idempotency_key: str, status: int, body: Any) -> None:
    """Store the first answer for retries."""
    IdempotentRequest.objects.filter(api_key=key, key=idempotency_key).update(
        status_code=status, body=body
    )


def release(*, key: OrganisationAPIKey, idempotency_key: str) -> None:
    """The request failed without an answer worth replaying (an error): a retry runs again."""
    IdempotentRequest.objects.filter(
        api_key=key, key=idempotency_key, status_code__isnull=True
    ).delete()


def _forget_expired() -> None:
    horizon = timezone.now() - datetime.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    IdempotentRequest.objects.filter(created_at__lt=horizon).delete()
