from __future__ import annotations

from django.contrib import admin

from reporting.models import ResultsReport


@admin.register(ResultsReport)
class ResultsReportAdmin(admin.ModelAdmin):
    """ILO admins see each generated report's attempts and last error (the Background jobs
    page links here); the file downloads through the portal's access-checked view only."""

    list_display = ["partnership", "period_start", "period_end", "format", "status", "attempts"]
    list_filter = ["status", "format"]
    exclude = ["file"]
    readonly_fields = [
        "partnership",
        "period_start",
        "period_end",
        "format",
        "language",
        "status",
        "requested_by",
        "created_at",
        "finished_at",
        "claimed_at",
        "attempts",
        "last_error",
        "next_attempt_at",
    ]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False  # reports are requested from the partnership's page
