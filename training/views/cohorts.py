from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from partners.models import Partner
from score_portal.access import get_visible_or_404, organising_provider_ids
from training.forms import CohortForm
from training.models import Cohort
from training.selectors import cohort_history, cohorts_for
from training.services.enrolment import TrainingError, create_cohort


@login_required
@require_GET
def cohort_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(cohorts_for(request.scope), 50).get_page(request.GET.get("page"))
    return render(request, "training/cohort_list.html", {"page": page})


@login_required
@require_GET
def cohort_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cohort = get_visible_or_404(
        Cohort.objects.select_related("module", "provider", "trainer"), request.scope, pk=pk
    )
    enrolments = cohort.enrolments.select_related("factory", "partnership__partner")
    return render(
        request,
        "training/cohort_detail.html",
        {"cohort": cohort, "enrolments": enrolments, "history": cohort_history(cohort)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def cohort_create(request: HttpRequest) -> HttpResponse:
    """Service-provider staff open a cohort for one of their certified trainers."""
    provider = (
        Partner.objects.filter(pk__in=organising_provider_ids(request.scope))
        .order_by("name")
        .first()
    )
    if provider is None:
        raise PermissionDenied(_("Only a service provider's staff open cohorts."))
    form = CohortForm(request.POST or None, provider=provider)
    if request.method == "POST" and form.is_valid():
        try:
            cohort = create_cohort(provider=provider, actor=request.user, **form.cleaned_data)
        except TrainingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Cohort opened."))
            return redirect(cohort)
    return render(
        request,
        "training/cohort_form.html",
        {"form": form, "provider": provider},
        status=400 if request.method == "POST" else 200,
    )
