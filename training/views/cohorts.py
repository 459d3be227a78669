from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from score_portal.permissions import get_visible_or_404
from training.models import Cohort
from training.selectors import cohorts_for


@login_required
@require_GET
def cohort_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(cohorts_for(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "training/cohort_list.html", {"page": page})


@login_required
@require_GET
def cohort_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = get_visible_or_404(
        Cohort.objects.select_related("module", "provider", "trainer"), request.user, pk=pk
    )
    enrolments = cohort.enrolments.select_related("factory", "partnership__partner")
    return render(
        request, "training/cohort_detail.html", {"cohort": cohort, "enrolments": enrolments}
    )
