from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from score_portal.permissions import can_see_kpi_detail, get_visible_or_404
from training.selectors import enrolments_for


@login_required
@require_GET
def enrolment_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(enrolments_for(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "training/enrolment_list.html", {"page": page})


@login_required
@require_GET
def enrolment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = get_visible_or_404(enrolments_for(request.user), request.user, pk=pk)
    kpi_readings = (
        enrolment.kpi_readings.select_related("kpi")
        if can_see_kpi_detail(request.user, enrolment)
        else None
    )
    return render(
        request,
        "training/enrolment_detail.html",
        {
            "enrolment": enrolment,
            "participants": enrolment.participants.all(),
            "visits": enrolment.visits.select_related("trainer"),
            "kpi_readings": kpi_readings,
        },
    )
