from django.contrib import admin
from rest_framework_api_key.models import APIKey

from api.models import OrganisationAPIKey


@admin.register(OrganisationAPIKey)
class OrganisationAPIKeyAdmin(admin.ModelAdmin):
    """Read-only: keys are created and revoked by the organisation's admins on its page."""

    list_display = [
        "name",
        "prefix",
        "organisation",
        "access",
        "created",
        "last_used_at",
        "revoked",
    ]
    list_filter = ["access", "revoked"]
    search_fields = ["name", "prefix", "organisation__name"]
    readonly_fields = [f.name for f in OrganisationAPIKey._meta.fields]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


# The library's own APIKey model is unused here (keys belong to organisations).
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)
