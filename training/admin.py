from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from score_portal import jobs
from score_portal.widgets import HistoryAdmin, SafeIdsAdmin
from training.models import (
    Certificate,
    Cohort,
    ConsultingVisit,
    Enrolment,
    KPIDefinition,
    KPIReading,
    Module,
    Participant,
    TrainerCertification,
)


@admin.register(Module)
class ModuleAdmin(SafeIdsAdmin, admin.ModelAdmin):
    list_display = [
        "code",
        "title",
        "format",
        "classroom_days",
        "followup_visits",
        "prerequisite",
        "is_active",
    ]
    list_filter = ["format", "is_active"]
    search_fields = ["code", "title"]
    filter_horizontal = ["kpis"]


@admin.register(KPIDefinition)
class KPIDefinitionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "unit", "direction", "kind", "min_value", "max_value"]
    search_fields = ["code", "name"]


@admin.register(TrainerCertification)
class TrainerCertificationAdmin(SafeIdsAdmin, admin.ModelAdmin):
    list_display = ["trainer", "module", "certified_on", "valid_until"]
    list_filter = ["module"]
    autocomplete_fields = ["trainer"]


@admin.register(Cohort)
class CohortAdmin(SafeIdsAdmin, HistoryAdmin):
    list_display = [
        "module",
        "provider",
        "trainer",
        "venue_city",
        "venue_country",
        "classroom_start",
        "capacity",
    ]
    list_filter = ["module", "provider"]
    search_fields = ["venue_city", "module__title", "provider__name"]
    autocomplete_fields = ["trainer", "provider"]


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0


class ConsultingVisitInline(SafeIdsAdmin, admin.TabularInline):
    model = ConsultingVisit
    extra = 0
    autocomplete_fields = ["trainer"]


@admin.register(Enrolment)
class EnrolmentAdmin(SafeIdsAdmin, HistoryAdmin):
    list_display = ["factory", "module", "partnership", "status", "created_at"]
    list_filter = ["status", "module"]
    search_fields = ["factory__name", "factory__name_latin"]
    autocomplete_fields = ["factory", "partnership", "cohort"]
    inlines = [ParticipantInline, ConsultingVisitInline]


@admin.register(KPIReading)
class KPIReadingAdmin(admin.ModelAdmin):
    """Read only: the factory and its trainer correct a reading, with a reason, on the
    enrolment page, where the rules are checked and its history is shown."""

    list_display = ["enrolment", "kpi", "kind", "value", "measured_on"]
    list_filter = ["kind", "kpi"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    """ILO admins see each certificate's rendering (attempts, last error) and restart it."""

    list_display = [
        "code",
        "enrolment",
        "status",
        "issued_at",
        "attempts",
        "last_error",
    ]
    list_filter = ["status"]
    search_fields = ["code", "enrolment__factory__name"]
    # The PDF downloads through the portal's access-checked view: there is no /media/ URL.
    exclude = ["pdf"]
    readonly_fields = [
        "code",
        "pdf_download",
        "created_at",
        "claimed_at",
        "attempts",
        "last_error",
        "next_attempt_at",
        "revoked_at",
        "revoked_by",
    ]
    actions = ["render_again"]

    @admin.display(description=_("PDF"))
    def pdf_download(self, certificate: Certificate) -> str:
        if not certificate.pdf:
            return "—"
        url = reverse("training:certificate_pdf", args=[certificate.pk])
        return format_html('<a href="{}">{}</a>', url, certificate.pdf.name)

    @admin.action(description=_("Render the selected pending certificates again"))
    def render_again(self, request, queryset):  # type: ignore[no-untyped-def]
        count = jobs.retry(
            Certificate, queryset.filter(status="pending").values_list("pk", flat=True)
        )
        self.message_user(request, _("%(count)d certificate(s) queued.") % {"count": count})
