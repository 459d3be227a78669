"""KPI readings on the enrolment page: record one, correct or delete one with a reason.

Only the factory's managers and the cohort's trainer reach these views; anyone else, the
funding brand and the provider's other staff included, gets 404, as for a missing id.
A refused reading comes back with what was typed and each error beside its field (400).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from score_portal.access import can_correct_kpi, get_visible_or_404, parse_id
from training import forms
from training.models import Enrolment, KPIReading
from training.selectors import enrolments_for, enrolments_with_progress
from training.services import kpis as services
from training.views.enrolments import render_enrolment_page


@login_required
@require_POST
def reading_record(request: HttpRequest, pk: int) -> HttpResponse:
    enrolment = _editable_enrolment(request, pk, with_progress=True)
    form = forms.KPIReadingForm(request.POST, enrolment=enrolment)
    if _done(
        form,
        lambda: services.record_kpi_reading(
            enrolment=enrolment, actor=request.user, **form.cleaned_data
        ),
    ):
        messages.success(request, _("KPI reading recorded."))
        return redirect(enrolment)
    return render_enrolment_page(request, enrolment, kpi_form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def reading_correct(request: HttpRequest, pk: int, reading_pk: int) -> HttpResponse:
    enrolment = _editable_enrolment(request, pk)
    reading = _reading(enrolment, reading_pk)
    form = forms.KPICorrectionForm(request.POST or None, reading=reading)
    if request.method == "POST" and _done(
        form,
        lambda: services.correct_kpi_reading(
            reading=reading, actor=request.user, **form.cleaned_data
        ),
    ):
        messages.success(request, _("KPI reading corrected."))
        return redirect(enrolment)
    return _reading_page(
        request,
        enrolment,
        reading,
        correct_form=form,
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def reading_delete(request: HttpRequest, pk: int, reading_pk: int) -> HttpResponse:
    enrolment = _editable_enrolment(request, pk)
    reading = _reading(enrolment, reading_pk)
    form = forms.KPIDeletionForm(request.POST)
    if _done(
        form,
        lambda: services.delete_kpi_reading(
            reading=reading, actor=request.user, reason=form.cleaned_data["reason"]
        ),
    ):
        messages.success(request, _("KPI reading deleted."))
        return redirect(enrolment)
    return _reading_page(request, enrolment, reading, delete_form=form, status=400)


def _done(form: forms.ServiceErrorsForm, write: Callable[[], object]) -> bool:
    """Validate ``form``, then ``write``; a refusal lands beside the fields it names."""
    if not form.is_valid():
        return False
    try:
        write()
    except services.KPIReadingError as error:
        form.add_service_errors(error.errors)
        return False
    except services.TrainingError as error:
        form.add_error(None, str(error))
        return False
    return True


def _editable_enrolment(request: HttpRequest, pk: int, *, with_progress: bool = False) -> Enrolment:
    """The enrolment, when the person may record and correct its readings; else 404."""
    queryset = enrolments_with_progress if with_progress else enrolments_for
    enrolment = get_visible_or_404(queryset(request.scope), request.scope, pk=pk)
    cohort = enrolment.cohort
    if not can_correct_kpi(
        request.scope,
        factory_id=enrolment.factory_id,
        trainer_id=cohort.trainer_id if cohort else None,
    ):
        raise Http404
    return enrolment


def _reading(enrolment: Enrolment, reading_pk: object) -> KPIReading:
    reading_id = parse_id(reading_pk)
    reading = (
        None
        if reading_id is None
        else enrolment.kpi_readings.select_related("kpi", "recorded_by")
        .filter(pk=reading_id)
        .first()
    )
    if reading is None:
        raise Http404
    return reading


def _reading_page(
    request: HttpRequest,
    enrolment: Enrolment,
    reading: KPIReading,
    *,
    correct_form: forms.KPICorrectionForm | None = None,
    delete_form: forms.KPIDeletionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "training/kpi_reading.html",
        {
            "enrolment": enrolment,
            "reading": reading,
            "correct_form": correct_form or forms.KPICorrectionForm(reading=reading),
            "delete_form": delete_form or forms.KPIDeletionForm(),
        },
        status=status,
    )
