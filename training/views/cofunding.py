"""Co-funding pages: a brand's offer to co-fund another brand's enrolment, and the proposal's
page where the lead funder agrees or declines and the co-funder ends its share."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from partners.models import Partner
from partners.selectors import chosen_brand
from score_portal.access import cofundable_reach, get_visible_or_404
from training import forms
from training.models import CoFunding, Enrolment
from training.services import cofunding as services
from training.services.enrolment import TrainingError


def _offering_brand(request: HttpRequest) -> Partner:
    """The brand that offers (``?brand=`` when the person acts for several); none: 404."""
    wanted = request.GET.get("brand") or request.POST.get("brand")
    brand = chosen_brand(request.scope, wanted, acting=True)
    if brand is None:
        raise Http404
    return brand


@login_required
@require_http_methods(["GET", "POST"])
def cofunding_propose(request: HttpRequest, pk: int) -> HttpResponse:
    """Offer to co-fund enrolment ``pk``: only an enrolment the brand may co-fund (another
    brand's, of a supplier on its list, not completed); anything else is 404."""
    brand = _offering_brand(request)
    reachable = Enrolment.objects.filter(cofundable_reach(request.scope, brand.pk, Enrolment))
    try:
        enrolment = reachable.select_related("factory", "module", "partnership__partner").get(pk=pk)
    except (Enrolment.DoesNotExist, OverflowError, ValueError):
        raise Http404 from None
    opened = services.open_cofunding(enrolment=enrolment, brand=brand)
    if opened is not None:
        messages.info(request, _("You already offered to co-fund this enrolment."))
        return redirect(opened)
    form = forms.CoFundingProposalForm(request.POST or None, brand=brand)
    if request.method == "POST" and form.is_valid():
        try:
            cofunding = services.propose_cofunding(
                enrolment=enrolment,
                partnership=form.cleaned_data["partnership"],
                share=services.share_from_percent(form.cleaned_data["percent"]),
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except TrainingError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            messages.success(
                request,
                _("Your offer is sent to %(partner)s, who agrees or declines it.")
                % {"partner": enrolment.partnership.partner},
            )
            return redirect(cofunding)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "training/cofunding_propose.html",
        {"brand": brand, "enrolment": enrolment, "form": form},
        status=status,
    )


def _page(
    request: HttpRequest, cofunding: CoFunding, sent: dict[str, Any] | None = None
) -> HttpResponse:
    moves = services.allowed_moves(cofunding, request.user)
    context: dict[str, Any] = {
        "cofunding": cofunding,
        "enrolment": cofunding.enrolment,
        "lead_percent": int(cofunding.enrolment.lead_share * 100),
        "is_proposal": cofunding.status == CoFunding.Status.PROPOSED,
        "may_agree": CoFunding.Status.AGREED in moves,
        "may_decline": CoFunding.Status.DECLINED in moves,
        "may_end": CoFunding.Status.ENDED in moves,
        "sees_enrolment": Enrolment.objects.visible_to(request.scope)
        .filter(pk=cofunding.enrolment_id)
        .exists(),
        "decline_form": forms.CoFundingReasonForm(prefix="decline", required=False),
        "end_form": forms.CoFundingReasonForm(prefix="end"),
    }
    context.update(sent or {})
    return render(request, "training/cofunding_detail.html", context, status=400 if sent else 200)


def _visible(request: HttpRequest, pk: int) -> CoFunding:
    return get_visible_or_404(
        CoFunding.objects.select_related(
            "partnership__partner",
            "enrolment__partnership__partner",
            "enrolment__factory",
            "enrolment__module",
            "proposed_by",
            "decided_by",
            "ended_by",
        ),
        request.scope,
        pk=pk,
    )


@login_required
@require_http_methods(["GET"])
def cofunding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A proposal or share: the proposer's and the lead funder's people and the ILO; 404
    for anyone else."""
    return _page(request, _visible(request, pk))


@login_required
@require_POST
def cofunding_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    cofunding = _visible(request, pk)
    try:
        if action == "agree":
            services.agree_cofunding(cofunding=cofunding, actor=request.user)
            messages.success(request, _("Co-funding agreed: the shares are in force."))
        elif action == "decline":
            form = forms.CoFundingReasonForm(request.POST, prefix="decline", required=False)
            if not form.is_valid():
                return _page(request, cofunding, {"decline_form": form})
            services.decline_cofunding(
                cofunding=cofunding, actor=request.user, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Co-funding declined."))
        elif action == "end":
            form = forms.CoFundingReasonForm(request.POST, prefix="end")
            if not form.is_valid():
                return _page(request, cofunding, {"end_form": form})
            services.end_cofunding(
                cofunding=cofunding, actor=request.user, reason=form.cleaned_data["reason"]
            )
            messages.success(
                request, _("Co-funding ended; its share went back to the lead funder.")
            )
        else:
            raise Http404
    except TrainingError as error:
        messages.error(request, str(error))
    return redirect(cofunding)
