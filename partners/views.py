from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partners import services
from partners.filters import PartnershipFilter
from partners.forms import ACTION_LABELS, PartnershipForm, TransitionForm
from partners.models import Partnership, status_sentence
from partners.selectors import (
    applying_partners,
    ledger_of,
    partnership_history,
    partnership_page,
    partnerships_with_ledger,
)
from score_portal.access import can_act_for_partner, get_visible_or_404
from score_portal.files import stored_file_response


@login_required
@require_GET
def partnership_list(request: HttpRequest) -> HttpResponse:
    """Partnerships in the user's reach, newest first; for the ILO, the review queue."""
    partnership_filter = PartnershipFilter(
        request.GET, queryset=partnerships_with_ledger(request.scope)
    )
    page = Paginator(partnership_filter.qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/partnership_list.html",
        {
            "filter": partnership_filter,
            "page": page,
            "may_apply": applying_partners(request.scope).exists(),
        },
    )


@login_required
@require_GET
def partnership_detail(request: HttpRequest, pk: int) -> HttpResponse:
    partnership = get_visible_or_404(partnership_page(request.scope), request.scope, pk=pk)
    moves = services.allowed_moves(partnership, request.user)
    return render(
        request,
        "partners/partnership_detail.html",
        {
            "partnership": partnership,
            "ledger": ledger_of(partnership),
            # The ILO's decisions (with their note) apart from the applicant's own moves: an
            # applicant never sees a "Decide" box on their own application.
            "decisions": [
                (to, ACTION_LABELS[to])
                for to in moves
                if services.TRANSITIONS.who(partnership.status, to) == "ilo"
            ],
            "applicant_moves": [
                (to, ACTION_LABELS[to])
                for to in moves
                if services.TRANSITIONS.who(partnership.status, to) == "applicant"
            ],
            "may_edit": partnership.is_editable
            and can_act_for_partner(request.scope, partnership.partner_id),
            "transition_form": TransitionForm(),
            "history": partnership_history(partnership),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def partnership_apply(request: HttpRequest) -> HttpResponse:
    partners = applying_partners(request.scope)
    if not partners.exists():
        raise PermissionDenied(_("Only a partner organisation's administrators and staff apply."))
    return _edit(
        request,
        PartnershipForm(request.POST or None, request.FILES or None, partners=partners),
        partnership=None,
    )


@login_required
@require_http_methods(["GET", "POST"])
def partnership_edit(request: HttpRequest, pk: int) -> HttpResponse:
    partnership = get_visible_or_404(Partnership.objects.all(), request.scope, pk=pk)
    if not can_act_for_partner(request.scope, partnership.partner_id):
        raise PermissionDenied(_("You can read this application but not change it."))
    if not partnership.is_editable:
        messages.warning(request, _("This application is submitted and can no longer be edited."))
        return redirect(partnership)
    form = PartnershipForm(
        request.POST or None,
        request.FILES or None,
        instance=partnership,
        partners=applying_partners(request.scope),
    )
    return _edit(request, form, partnership=partnership)


def _edit(request: HttpRequest, form: PartnershipForm, *, partnership: Partnership | None):
    """Save the draft; with "submit", also send it to the ILO (a draft stays if that fails)."""
    if request.method == "POST" and form.is_valid():
        partner = partnership.partner if partnership else form.cleaned_data["partner"]
        try:
            saved = services.save_draft(
                partner=partner,
                actor=request.user,
                values=form.draft_values(),
                modules=form.cleaned_data["modules"],
                partnership=partnership,
            )
        except services.PartnershipError as error:
            form.add_error(None, str(error))
        else:
            if request.POST.get("action") != "submit":
                messages.success(request, _("Draft saved."))
                return redirect(saved)
            try:
                services.transition(
                    partnership=saved, actor=request.user, to_status=Partnership.Status.SUBMITTED
                )
            except services.PartnershipError as error:
                messages.error(request, str(error))
                return redirect("partners:partnership_edit", pk=saved.pk)
            messages.success(request, _("Application submitted: the ILO will review it."))
            return redirect(saved)
    return render(
        request,
        "partners/partnership_form.html",
        {"form": form, "partnership": partnership},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def partnership_transition(request: HttpRequest, pk: int) -> HttpResponse:
    partnership = get_visible_or_404(Partnership.objects.all(), request.scope, pk=pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That action is not available."))
        return redirect(partnership)
    try:
        services.transition(
            partnership=partnership,
            actor=request.user,
            to_status=form.cleaned_data["to_status"],
            note=form.cleaned_data["note"],
        )
    except services.PartnershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, status_sentence(partnership, partnership.status))
    return redirect(partnership)


@login_required
@require_GET
def partnership_document(request: HttpRequest, pk: int) -> HttpResponse:
    partnership = get_visible_or_404(Partnership.objects.all(), request.scope, pk=pk)
    if not partnership.supporting_document:
        raise Http404
    return stored_file_response(
        request,
        partnership.supporting_document,
        filename=f"partnership-{partnership.pk}.pdf",
        content_type="application/pdf",
    )
