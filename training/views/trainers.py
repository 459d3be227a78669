"""Trainers' pages: who a trainer is, where they work, and the modules the ILO certified
them for (with dates and expiry). ILO admins and staff certify and revoke here.

Who sees a trainer's page: the trainer, their provider's staff, and the ILO; anyone else
gets 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from score_portal.access import can_certify_trainers, can_list_trainers, parse_id
from score_portal.models import User
from training.forms import CertificationForm
from training.selectors import certification_history, trainers_for
from training.services.enrolment import TrainingError, certify_trainer, revoke_certification


def _trainer_or_404(request: HttpRequest, pk: object) -> User:
    trainer_id = parse_id(pk)
    trainer = (
        trainers_for(request.scope).filter(pk=trainer_id).first()  # type: ignore[attr-defined]
        if trainer_id is not None
        else None
    )
    if trainer is None:
        raise Http404
    return trainer


@login_required
@require_GET
def trainer_list(request: HttpRequest) -> HttpResponse:
    if not can_list_trainers(request.scope):  # type: ignore[attr-defined]
        raise Http404
    trainers = trainers_for(request.scope)  # type: ignore[attr-defined]
    page = Paginator(trainers, 50).get_page(request.GET.get("page"))
    return render(
        request, "training/trainer_list.html", {"page": page, "today": timezone.localdate()}
    )


def _trainer_page(
    request: HttpRequest, trainer: User, form: CertificationForm | None = None
) -> HttpResponse:
    may_certify = can_certify_trainers(request.scope)  # type: ignore[attr-defined]
    return render(
        request,
        "training/trainer_detail.html",
        {
            "trainer": trainer,
            "today": timezone.localdate(),
            "may_certify": may_certify,
            "may_list": can_list_trainers(request.scope),  # type: ignore[attr-defined]
            "form": form or (CertificationForm() if may_certify else None),
            "history": certification_history(trainer),
        },
        status=400 if form is not None else 200,
    )


@login_required
@require_GET
def trainer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _trainer_page(request, _trainer_or_404(request, pk))


@login_required
@require_POST
def certification_add(request: HttpRequest, pk: int) -> HttpResponse:
    trainer = _trainer_or_404(request, pk)
    if not can_certify_trainers(request.scope):  # type: ignore[attr-defined]
        raise Http404
    form = CertificationForm(request.POST)
    if form.is_valid():
        try:
            certification = certify_trainer(
                trainer=trainer,
                module=form.cleaned_data["module"],
                certified_on=form.cleaned_data["certified_on"],
                valid_until=form.cleaned_data["valid_until"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except TrainingError as error:
            form.add_service_errors({error.field or "__all__": str(error)})
        else:
            messages.success(
                request,
                _("%(trainer)s is certified for %(module)s.")
                % {"trainer": trainer.display_name, "module": certification.module},
            )
            return redirect("training:trainer_detail", pk=trainer.pk)
    return _trainer_page(request, trainer, form)


@login_required
@require_POST
def certification_revoke(request: HttpRequest, pk: int, certification_pk: int) -> HttpResponse:
    trainer = _trainer_or_404(request, pk)
    if not can_certify_trainers(request.scope):  # type: ignore[attr-defined]
        raise Http404
    certification_id = parse_id(certification_pk)
    certification = (
        trainer.certifications.select_related("module").filter(pk=certification_id).first()
        if certification_id is not None
        else None
    )
    if certification is None:
        raise Http404
    try:
        revoke_certification(certification=certification, actor=request.user)  # type: ignore[arg-type]
    except TrainingError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("The certification of %(trainer)s for %(module)s was revoked.")
            % {"trainer": trainer.display_name, "module": certification.module},
        )
    return redirect("training:trainer_detail", pk=trainer.pk)
