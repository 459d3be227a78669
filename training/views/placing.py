"""The placing queue: enrolments waiting for a cohort, placed by the providers that deliver
the module in the factory's country."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from score_portal.access import can_see_placing_queue, places_anywhere, placing_provider_ids
from training.forms import PlaceForm
from training.selectors import awaiting_placement, cohorts_open_for_enrolment
from training.services.enrolment import TrainingError
from training.services.placing import place_enrolments


@login_required
@require_http_methods(["GET", "POST"])
def placing_queue(request: HttpRequest) -> HttpResponse:
    """Every waiting enrolment the person may place, the longest waiting first; tick some,
    choose a cohort, place them."""
    scope = request.scope  # type: ignore[attr-defined]
    if not can_see_placing_queue(scope):
        raise Http404
    acting = placing_provider_ids(scope)
    may_place = places_anywhere(scope)
    waiting = awaiting_placement(scope)
    cohorts = cohorts_open_for_enrolment(provider_ids=None if scope.is_ilo_decider else acting)
    form = PlaceForm(request.POST or None, waiting=waiting, cohorts=cohorts)
    if request.method == "POST":
        if not may_place:
            raise PermissionDenied(_("Only a provider's administrators and staff place."))
        if form.is_valid():
            try:
                placed = place_enrolments(
                    enrolments=list(form.cleaned_data["enrolments"]),
                    cohort=form.cleaned_data["cohort"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except TrainingError as error:
                form.add_error(error.field if error.field in form.fields else None, str(error))
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(n)s enterprise placed in %(cohort)s; its managers are told by email.",
                        "%(n)s enterprises placed in %(cohort)s; their managers are told by email.",
                        len(placed),
                    )
                    % {"n": len(placed), "cohort": form.cleaned_data["cohort"]},
                )
                return redirect("training:placing_queue")
    page = Paginator(waiting, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "training/placing_queue.html",
        {
            "form": form,
            "page": page,
            "may_place": may_place,
            "ticked": set(request.POST.getlist("enrolments")),
        },
        status=400 if request.method == "POST" else 200,
    )
