from django.contrib import admin

from partners.models import Membership, Partner, Partnership
from score_portal.widgets import SafeIdsAdmin


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


@admin.register(Membership)
class MembershipAdmin(SafeIdsAdmin, admin.ModelAdmin):
    list_display = ["user", "partner", "role", "created_at"]
    list_filter = ["role", "partner__kind"]
    search_fields = ["user__email", "partner__name"]
    autocomplete_fields = ["user", "partner"]


@admin.register(Partnership)
class PartnershipAdmin(SafeIdsAdmin, admin.ModelAdmin):
    list_display = ["title", "partner", "kind", "status", "factory_quota", "budget", "currency"]
    list_filter = ["status", "kind"]
    search_fields = ["title", "partner__name"]
    filter_horizontal = ["modules"]
    autocomplete_fields = ["partner"]
