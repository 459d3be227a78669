from __future__ import annotations

from django.db.models import QuerySet

from api.models import OrganisationAPIKey
from partners.models import Partner
from partners.selectors import managed_organisations
from score_portal.access import can_manage_api_keys
from score_portal.scope import Scope


def keys_of(organisation: Partner) -> QuerySet[OrganisationAPIKey]:
    """The organisation's keys, newest first, with who created and revoked them."""
    return (
        OrganisationAPIKey.objects.of(organisation.pk)
        .select_related("created_by", "revoked_by")
        .order_by("revoked", "-created")
    )


def key_managed_organisation(scope: Scope, pk: int) -> Partner | None:
    """The organisation whose keys the person manages, or None (then: 404)."""
    organisation = managed_organisations(scope).filter(pk=pk).first()
    if organisation is None or not can_manage_api_keys(
        scope, organisation.pk, is_ilo_organisation=organisation.kind == Partner.Kind.ILO
    ):
        return None
    return organisation
