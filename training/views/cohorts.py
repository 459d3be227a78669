from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from partners.models import Partner
from score_portal.access import (
    can_organise_cohorts,
    can_record_attendance,
    get_visible_or_404,
    organising_provider_ids,
)
from training.forms import CohortForm
from training.models import Cohort
from training.rules import COHORT_FIELDS, places_taken
from training.selectors import cohort_history, cohorts_for
from training.services.attendance import (
    parse_ticks,
    record_cohort_attendance,
    register_of,
    tick_name,
)
from training.services.enrolment import (
    TrainingError,
    create_cohort,
    update_cohort,
)


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
        {
            "cohort": cohort,
            "enrolments": enrolments,
            "history": cohort_history(cohort),
            "may_edit": can_organise_cohorts(request.scope, cohort.provider_id),
            "may_record_attendance": can_record_attendance(request.scope, cohort.trainer_id),
        },
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
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, _("Cohort opened."))
            return redirect(cohort)
    return render(
        request,
        "training/cohort_form.html",
        {"form": form, "provider": provider},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def cohort_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The provider's staff change a cohort: trainer, venue, language, dates, capacity."""
    cohort = get_visible_or_404(
        Cohort.objects.select_related("module", "provider", "trainer"), request.scope, pk=pk
    )
    if not can_organise_cohorts(request.scope, cohort.provider_id):
        raise PermissionDenied(_("Only the provider's administrators and staff change a cohort."))
    taken = places_taken(cohort)
    # The form edits a copy: the page's heading keeps the cohort as stored.
    form = CohortForm(
        request.POST or None,
        instance=Cohort.objects.get(pk=cohort.pk),
        provider=cohort.provider,
        taken=taken,
    )
    if request.method == "POST" and form.is_valid():
        try:
            update_cohort(
                cohort=cohort,
                actor=request.user,
                **{name: form.cleaned_data[name] for name in COHORT_FIELDS},
            )
        except TrainingError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(request, _("Cohort saved."))
            return redirect(cohort)
    return render(
        request,
        "training/cohort_form.html",
        {"form": form, "provider": cohort.provider, "cohort": cohort, "taken": taken},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def cohort_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    """The cohort's attendance register: every placed enterprise's participants, a tick
    per classroom day, saved at once (the trainer, or the ILO)."""
    cohort = get_visible_or_404(
        Cohort.objects.select_related("module", "provider", "trainer"), request.scope, pk=pk
    )
    may_record = can_record_attendance(request.scope, cohort.trainer_id)
    register = register_of(cohort)
    ticks = {(row.participant.pk, day) for row in register.rows for day in row.days}
    error = ""
    if request.method == "POST":
        if not may_record:
            raise PermissionDenied(_("Only the cohort's trainer records the attendance."))
        ticks = parse_ticks(request.POST, register)
        try:
            stored = record_cohort_attendance(cohort=cohort, actor=request.user, ticks=ticks)
        except TrainingError as refusal:
            error = str(refusal)
        else:
            messages.success(
                request,
                ngettext("Attendance saved: %(n)s tick.", "Attendance saved: %(n)s ticks.", stored)
                % {"n": stored},
            )
            return redirect("training:cohort_attendance", pk=cohort.pk)
    return render(
        request,
        "training/cohort_attendance.html",
        {
            "cohort": cohort,
            "register": register,
            "table": [
                {
                    "row": row,
                    "open": may_record and register.is_open(row),
                    "cells": [
                        {
                            "day": day,
                            "name": tick_name(row.participant.pk, day),
                            "ticked": (row.participant.pk, day) in ticks,
                            "begun": day in register.begun,
                        }
                        for day in register.days
                    ],
                }
                for row in register.rows
            ],
            "may_record": may_record,
            "error": error,
        },
        status=400 if error else 200,
    )
