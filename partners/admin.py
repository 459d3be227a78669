from django.contrib import admin
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from partners.models import Invitation, Membership, Partner, Partnership
from partners.selectors import membership_history
from score_portal.widgets import HistoryAdmin, SafeIdsAdmin


class MembershipInline(SafeIdsAdmin, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "country", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "short_name"]
    inlines = [MembershipInline]
    readonly_fields = ["members_history"]

    @admin.display(description=_("Changes to the members"))
    def members_history(self, partner: Partner) -> str:
        if partner.pk is None:
            return "—"
        return render_to_string("includes/history.html", {"entries": membership_history(partner)})


@admin.register(Membership)
class MembershipAdmin(SafeIdsAdmin, HistoryAdmin):
    list_display = ["user", "partner", "role", "created_at"]
    list_filter = ["role", "partner__kind"]
    search_fields = ["user__email", "partner__name"]
    autocomplete_fields = ["user", "partner"]


@admin.register(Partnership)
class PartnershipAdmin(SafeIdsAdmin, HistoryAdmin):
    list_display = ["title", "partner", "kind", "status", "factory_quota", "budget", "currency"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "partner__name"]
    filter_horizontal = ["modules"]
    autocomplete_fields = ["partner"]
    # The document downloads through the portal's access-checked view: there is no /media/ URL.
    exclude = ["supporting_document"]
    readonly_fields = ["document_download"]

    @admin.display(description=_("supporting document (PDF)"))
    def document_download(self, partnership: Partnership) -> str:
        if not partnership.supporting_document:
            return "—"
        url = reverse("partners:partnership_document", args=[partnership.pk])
        return format_html('<a href="{}">{}</a>', url, partnership.supporting_document.name)


@admin.register(Invitation)
class InvitationAdmin(SafeIdsAdmin, admin.ModelAdmin):
    """For repairs only: invitations are sent, resent and withdrawn on the People page."""

    list_display = [
        "email",
        "partner",
        "role",
        "sent_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_filter = ["role", "partner__kind"]
    search_fields = ["email", "partner__name"]
    readonly_fields = [
        "partner",
        "email",
        "role",
        "invited_by",
        "sent_at",
        "expires_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
