"""API keys of an organisation, and the answers remembered for idempotent retries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from score_portal.scope import Scope, organisation_scope


class OrganisationAPIKeyQuerySet(models.QuerySet["OrganisationAPIKey"]):
    def of(self, organisation_id: int) -> OrganisationAPIKeyQuerySet:
        return self.filter(organisation_id=organisation_id)


class OrganisationAPIKeyManager(
    APIKeyManager.from_queryset(OrganisationAPIKeyQuerySet)  # type: ignore[misc]
):
    pass


class OrganisationAPIKey(AbstractAPIKey):
    """A named key an organisation's system uses to call the API in the organisation's name.

    The key itself is shown once, when created; only its SHA-512 hash is stored
    (djangorestframework-api-key). Requests made with it act with the organisation's scope:
    an acting key like one of its staff, a read-only key like a viewer. The audit trail
    names the person who created the key (``created_by``).
    """

    class Access(models.TextChoices):
        READ_ONLY = "read_only", _("Read only")
        ACTING = "acting", _("Acting (reads and writes)")

    organisation = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("organisation"),
    )
    access = models.CharField(_("access"), max_length=10, choices=Access.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    objects = OrganisationAPIKeyManager()  # type: ignore[misc]

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(
                condition=Q(access__in=["read_only", "acting"]), name="api_key_access_valid"
            ),
            models.CheckConstraint(
                condition=Q(revoked=False) | Q(revoked_at__isnull=False),
                name="api_key_revoked_when",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_acting(self) -> bool:
        return self.access == self.Access.ACTING

    @property
    def scope(self) -> Scope:
        """What the key reaches: its organisation, as staff or as a viewer."""
        return organisation_scope(
            partner_id=self.organisation_id,
            kind=self.organisation.kind,
            acting=self.is_acting,
        )


class IdempotentRequest(models.Model):
    """A POST sent with an ``Idempotency-Key``: its fingerprint and, once answered, the
    answer, replayed to a retry for ``API_IDEMPOTENCY_HOURS``."""

    api_key = models.ForeignKey(OrganisationAPIKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotent_request_unique")
        ]

    def __str__(self) -> str:
        return self.key
