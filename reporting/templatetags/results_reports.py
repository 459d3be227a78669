"""The "Results report" box of the partnership page (partners' template loads it: partners
import nothing of reporting)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from reporting.report_forms import ResultsReportForm
from score_portal.access import can_report_on_partnership

register = template.Library()

REPORTABLE = ("approved", "suspended", "closed")  # Partnership.Status: those that fund


@register.inclusion_tag("reporting/report_box.html", takes_context=True)
def results_report_box(context: Any, partnership: Any) -> dict[str, Any]:
    request = context["request"]
    shown = partnership.status in REPORTABLE and can_report_on_partnership(
        request.scope, partnership.partner_id
    )
    form = None
    if shown:
        form = ResultsReportForm(
            initial={
                "period_start": min(
                    partnership.start_date or timezone.localdate(), timezone.localdate()
                ),
                "period_end": timezone.localdate(),
            },
            auto_id="report_%s",
        )
    return {"shown": shown, "partnership": partnership, "form": form}
