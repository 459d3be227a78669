"""Inviting a factory's manager from the factory's page: the brand that lists it, the
provider that trains it (their admins and staff) or the ILO. It uses the one factory
invitation mechanism (``FactoryInvitation``), accepted when the invited address is
verified: at sign-up, or at the next sign-in of an existing account."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from score_portal.access import factory_inviter_reach, parse_id
from suppliers.models import Factory
from training.forms import FactoryManagerInvitationForm
from training.services.enrolment import TrainingError, invite_factory_manager


@login_required
@require_http_methods(["GET", "POST"])
def factory_managers(request: HttpRequest, pk: int) -> HttpResponse:
    scope = request.scope  # type: ignore[attr-defined]
    factory_id = parse_id(pk)
    factory = (
        Factory.objects.visible_to(scope)
        .filter(factory_inviter_reach(scope, Factory), pk=factory_id)
        .first()
        if factory_id is not None
        else None
    )
    if factory is None:
        raise Http404
    form = FactoryManagerInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invite_factory_manager(
                factory=factory,
                email=form.cleaned_data["email"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except TrainingError as error:
            form.add_service_errors({error.field or "__all__": str(error)})
        else:
            messages.success(
                request, _("An invitation was sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("training:factory_managers", pk=factory.pk)
    return render(
        request,
        "training/factory_managers.html",
        {
            "factory": factory,
            "managers": factory.managers.select_related("user").order_by("user__email"),
            "invitations": factory.invitations.filter(accepted_at__isnull=True)
            .select_related("invited_by")
            .order_by("-created_at"),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )
