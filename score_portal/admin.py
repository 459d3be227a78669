from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from score_portal import emails
from score_portal.models import OutboundEmail, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """Delivery status of every email, for ILO admins; the outbox is written by the portal only."""

    list_display = [
        "created_at",
        "to",
        "subject",
        "template",
        "status",
        "attempts",
        "claimed_at",
        "sent_at",
        "short_error",
    ]
    list_filter = ["status", "template"]
    search_fields = ["to", "subject"]
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    @admin.display(description=_("last error"))
    def short_error(self, email: OutboundEmail) -> str:
        return Truncator(email.last_error).chars(80)

    @admin.action(description=_("Send the selected failed or stuck emails again"))
    def send_again(self, request, queryset):  # type: ignore[no-untyped-def]
        """Failed rows become queued again (a stale SENDING row is claimable as it is); the
        worker's claim still guarantees each is sent once."""
        ids = list(queryset.exclude(status=OutboundEmail.Status.SENT).values_list("pk", flat=True))
        OutboundEmail.objects.filter(pk__in=ids, status=OutboundEmail.Status.FAILED).update(
            status=OutboundEmail.Status.QUEUED
        )
        transaction.on_commit(lambda: emails._enqueue_many(ids))
        self.message_user(
            request,
            ngettext("%(count)d email queued again.", "%(count)d emails queued again.", len(ids))
            % {"count": len(ids)},
        )
