"""Results reports: requested from the partnership's page, downloaded at once (small) or
from the Reports page once the worker has made them (large); the IATI results export."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from partners.models import Partnership
from reporting import iati, reports, rollups
from reporting.models import ResultsReport
from reporting.report_forms import IATI, PeriodForm, ResultsReportForm
from score_portal.access import (
    can_export_programme_results,
    can_list_results_reports,
    can_report_on_partnership,
    get_visible_or_404,
)
from score_portal.files import stored_file_response


def _reportable(request: HttpRequest, pk: int) -> Partnership:
    partnership = get_visible_or_404(
        Partnership.objects.select_related("partner"), request.scope, pk=pk
    )
    if not can_report_on_partnership(request.scope, partnership.partner_id):
        raise Http404
    return partnership


def _download(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _iati_download(
    partnerships: list[Partnership], start: datetime.date, end: datetime.date, name: str
) -> HttpResponse:
    return _download(
        iati.iati_xml(partnerships, start, end),
        f"{name}-{start:%Y%m%d}-{end:%Y%m%d}.xml",
        "application/xml",
    )


@login_required
@require_http_methods(["GET", "POST"])
def partnership_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The report form (the partnership page holds the same one); a valid request answers
    the file itself, or, for a large report, queues it and goes to the Reports page."""
    partnership = _reportable(request, pk)
    form = ResultsReportForm(request.POST or None, auto_id="report_%s")
    if request.method == "POST" and form.is_valid():
        start, end = form.cleaned_data["period_start"], form.cleaned_data["period_end"]
        fmt = form.cleaned_data["format"]
        if fmt == IATI:
            return _iati_download([partnership], start, end, f"iati-results-{partnership.pk}")
        if reports.is_large(partnership, start, end):
            try:
                reports.request_results_report(
                    partnership=partnership,
                    actor=request.user,  # type: ignore[arg-type]
                    period_start=start,
                    period_end=end,
                    fmt=fmt,
                    language=translation.get_language() or "en",
                )
            except reports.ReportError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    _(
                        "The report is large: it is being generated. It will be listed here, "
                        "and you will receive an email when it is ready."
                    ),
                )
                return redirect("reporting:report_list")
        else:
            data = reports.gather(partnership, start, end)
            report = ResultsReport(
                partnership=partnership, period_start=start, period_end=end, format=fmt
            )
            return _download(reports.render(data, fmt), report.filename, reports.CONTENT_TYPES[fmt])
    return render(request, "reporting/report_form.html", {"partnership": partnership, "form": form})


@login_required
@require_GET
def report_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """A partnership's report data on a page (``reports.gather`` for a period, this year so
    far unless chosen), its figures kept for ``rollups.freshness()``; the per-factory table
    by pages. Who may not report on the partnership: 404."""
    partnership = _reportable(request, pk)
    start, end = rollups.default_period()
    chosen = any(request.GET.get(name) for name in ("period_start", "period_end"))
    if chosen:
        form = PeriodForm(request.GET, auto_id="preview_%s")
        if form.is_valid():
            start, end = form.cleaned_data["period_start"], form.cleaned_data["period_end"]
    else:
        form = PeriodForm(initial={"period_start": start, "period_end": end}, auto_id="preview_%s")
    snapshot = rollups.report(partnership, start, end)
    paginator = Paginator(range(snapshot.figures["factories"]), rollups.REPORT_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = rollups.report_factories(snapshot, page.number) if paginator.count else []
    if rows is None:  # the page was dropped before its report (a cache under pressure)
        snapshot = rollups.report(partnership, start, end, refresh=True)
        rows = rollups.report_factories(snapshot, page.number)
        if rows is None:  # a cache that keeps nothing: count this page's rows here
            first = (page.number - 1) * rollups.REPORT_PAGE_SIZE
            rows = reports.factory_progress(partnership, start, end)
            rows = rows[first : first + rollups.REPORT_PAGE_SIZE]
    data = snapshot.figures["report"]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reporting/report_preview.html",
        {
            "partnership": partnership,
            "p": data.partnership,
            "report": data,
            "factories": rows,
            "form": form,
            "page": page,
            "query": query.urlencode(),
            **rollups.figures_as_of(snapshot),
        },
    )


@login_required
@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    """The reports the worker made (or is making) for the person's partnerships, newest
    first; for the ILO, the programme's IATI export too."""
    scope = request.scope
    if not can_list_results_reports(scope):
        raise Http404
    found = (
        ResultsReport.objects.visible_to(scope)
        .select_related("partnership__partner", "requested_by")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    programme_form = None
    if can_export_programme_results(scope):
        today = timezone.localdate()
        programme_form = PeriodForm(
            initial={"period_start": today.replace(month=1, day=1), "period_end": today},
            auto_id="iati_%s",
        )
    return render(
        request,
        "reporting/report_list.html",
        {"page": page, "programme_form": programme_form},
    )


@login_required
@require_GET
def report_download(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_visible_or_404(ResultsReport.objects.all(), request.scope, pk=pk)
    if report.status != ResultsReport.Status.READY or not report.file:
        raise Http404
    return stored_file_response(
        request,
        report.file,
        filename=report.filename,
        content_type=reports.CONTENT_TYPES[report.format],
    )


@login_required
@require_GET
def programme_iati(request: HttpRequest) -> HttpResponse:
    """The whole programme's results as IATI activities (one per partnership): the ILO's."""
    if not can_export_programme_results(request.scope):
        raise Http404
    form = PeriodForm(request.GET, auto_id="iati_%s")
    if form.is_valid():
        return _iati_download(
            iati.programme_partnerships(),
            form.cleaned_data["period_start"],
            form.cleaned_data["period_end"],
            "iati-results-score",
        )
    found = ResultsReport.objects.visible_to(request.scope).select_related(
        "partnership__partner", "requested_by"
    )
    page = Paginator(found, 50).get_page(1)
    return render(
        request,
        "reporting/report_list.html",
        {"page": page, "programme_form": form},
    )
