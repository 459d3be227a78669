"""An organisation's people, run by its own administrators: members, roles, invitations.

Only people who manage an organisation's people (its administrators; ILO admins and staff
for every partner) reach these pages: anyone else gets 404, as for a missing organisation.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partners import services
from partners.forms import InvitationForm, OrganisationForm, RoleForm
from partners.models import Invitation, Membership, Partner
from partners.selectors import (
    managed_organisations,
    members_of,
    membership_history,
    pending_invitations,
)
from score_portal import access
from score_portal.scope import forget_scope


def _one_or_404(queryset: QuerySet[Any], pk: object) -> Any:
    pk = access.parse_id(pk)
    found = queryset.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise Http404
    return found


def _managed(request: HttpRequest, pk: int) -> Partner:
    """The organisation, if the person manages its people; 404 otherwise."""
    partner: Partner = _one_or_404(managed_organisations(request.scope), pk)
    return partner


def _people_url(partner: Model) -> str:
    return reverse("partners:organisation_people", args=[partner.pk])


@login_required
@require_GET
def organisation_list(request: HttpRequest) -> HttpResponse:
    """The organisations whose people one manages; one's only one opens directly."""
    organisations = list(managed_organisations(request.scope))
    may_create = access.can_onboard_partners(request.scope)
    if not organisations and not may_create:
        raise Http404
    if len(organisations) == 1 and not may_create:
        return redirect(_people_url(organisations[0]))
    return render(
        request,
        "partners/organisation_list.html",
        {"organisations": organisations, "may_create": may_create},
    )


@login_required
@require_http_methods(["GET", "POST"])
def organisation_create(request: HttpRequest) -> HttpResponse:
    """The ILO opens a partner organisation of any kind and invites its first admin."""
    if not access.can_onboard_partners(request.scope):
        raise Http404
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            partner, invitation = services.create_partner(
                name=data["name"],
                short_name=data["short_name"],
                kind=data["kind"],
                country=data["country"],
                website=data["website"],
                admin_email=data["admin_email"],
                actor=request.user,
            )
        except services.PartnerError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("%(partner)s was created; an invitation was sent to %(email)s.")
                % {"partner": partner.display_name, "email": invitation.email},
            )
            return redirect(_people_url(partner))
    return render(
        request,
        "partners/organisation_form.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def _people_page(
    request: HttpRequest, partner: Partner, invite_form: InvitationForm | None = None
) -> HttpResponse:
    roles = services.roles_for(partner)
    members = list(members_of(partner))
    return render(
        request,
        "partners/organisation_people.html",
        {
            "partner": partner,
            "members": [(m, RoleForm(initial={"role": m.role}, roles=roles)) for m in members],
            "admin_count": sum(m.role == Membership.Role.ADMIN for m in members),
            "invitations": pending_invitations(partner),
            "invite_form": invite_form or InvitationForm(roles=roles),
            "history": membership_history(partner),
            "manages_webhooks": access.can_manage_webhooks(request.scope, partner.pk),
            "may_manage_api_keys": access.can_manage_api_keys(
                request.scope,
                partner.pk,
                is_ilo_organisation=partner.kind == Partner.Kind.ILO,
            ),
        },
        status=400 if invite_form is not None else 200,
    )


@login_required
@require_GET
def organisation_people(request: HttpRequest, pk: int) -> HttpResponse:
    return _people_page(request, _managed(request, pk))


@login_required
@require_POST
def people_invite(request: HttpRequest, pk: int) -> HttpResponse:
    partner = _managed(request, pk)
    form = InvitationForm(request.POST, roles=services.roles_for(partner))
    if form.is_valid():
        try:
            invitation = services.invite(
                partner=partner,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except services.PartnerError as error:
            form.add_error("email", str(error))
        else:
            messages.success(
                request, _("An invitation was sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect(_people_url(partner))
    return _people_page(request, partner, invite_form=form)


@login_required
@require_POST
def member_role(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    partner = _managed(request, pk)
    membership: Membership = _one_or_404(partner.memberships.select_related("user"), member_pk)
    form = RoleForm(request.POST, roles=services.roles_for(partner))
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect(_people_url(partner))
    try:
        membership = services.change_role(
            membership=membership, role=form.cleaned_data["role"], actor=request.user
        )
    except services.PartnerError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(person)s is now %(role)s.")
            % {"person": membership.user.display_name, "role": membership.get_role_display()},
        )
    forget_scope(request.user)
    return redirect(_after_own_change(request, partner))


@login_required
@require_POST
def member_remove(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    partner = _managed(request, pk)
    membership: Membership = _one_or_404(partner.memberships.select_related("user"), member_pk)
    try:
        services.remove_member(membership=membership, actor=request.user)
    except services.PartnerError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(person)s was removed from %(partner)s.")
            % {"person": membership.user.display_name, "partner": partner.display_name},
        )
    forget_scope(request.user)
    return redirect(_after_own_change(request, partner))


def _after_own_change(request: HttpRequest, partner: Partner) -> str:
    """Back to the people page, unless one just gave up managing it oneself."""
    if managed_organisations(request.scope).filter(pk=partner.pk).exists():
        return _people_url(partner)
    return reverse("home")


@login_required
@require_POST
def invitation_resend(request: HttpRequest, pk: int, invitation_pk: int) -> HttpResponse:
    partner = _managed(request, pk)
    invitation: Invitation = _one_or_404(partner.invitations.all(), invitation_pk)
    try:
        services.resend_invitation(invitation=invitation, actor=request.user)
    except services.PartnerError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The invitation was sent again to %(email)s.") % {"email": invitation.email}
        )
    return redirect(_people_url(partner))


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int, invitation_pk: int) -> HttpResponse:
    partner = _managed(request, pk)
    invitation: Invitation = _one_or_404(partner.invitations.all(), invitation_pk)
    try:
        services.revoke_invitation(invitation=invitation, actor=request.user)
    except services.PartnerError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email},
        )
    return redirect(_people_url(partner))


@login_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the invitation email. A visitor signs in (or signs up, and verifies the
    address) first and comes back here (``?next=``); then one button joins."""
    invitation = services.find_invitation(token)
    refusal = services.invitation_refusal(invitation, request.user)  # type: ignore[arg-type]
    if request.method == "POST" and refusal is None:
        try:
            membership = services.accept_invitation(token=token, user=request.user)  # type: ignore[arg-type]
        except services.PartnerError as error:
            refusal = str(error)
        else:
            forget_scope(request.user)
            messages.success(
                request,
                _("Welcome to %(partner)s: you are now %(role)s.")
                % {
                    "partner": membership.partner.display_name,
                    "role": membership.get_role_display(),
                },
            )
            return redirect("home")
    return render(
        request,
        "partners/invitation_accept.html",
        {"invitation": invitation if refusal is None else None, "refusal": refusal},
        status=_refusal_status(invitation, refusal),
    )


def _refusal_status(invitation: Invitation | None, refusal: str | None) -> int:
    if refusal is None:
        return 200
    if invitation is None or invitation.revoked_at is not None:
        return 404
    if invitation.accepted_at is not None or invitation.is_expired:
        return 410
    return 403  # signed in with another address
