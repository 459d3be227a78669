from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from score_portal.permissions import Role, scope_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation a person sees follows what they can reach."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "portal_role": None}
    scope = scope_of(user)
    role = scope.primary_role
    items = [(_("Home"), reverse("home"))]
    if scope.sees_everything or scope.partner_ids:
        items.append((_("Partnerships"), reverse("partners:partnership_list")))
    if scope.sees_everything or scope.funding_ids or scope.factory_ids:
        items.append((_("Suppliers"), reverse("suppliers:factory_list")))
    if scope.sees_everything or scope.funding_ids:
        items.append((_("Imports"), reverse("suppliers:import_list")))
    if scope.funding_ids:
        items.append((_("Progress"), reverse("training:matrix")))
    if scope.sees_everything or scope.provider_ids:
        items.append((_("Cohorts"), reverse("training:cohort_list")))
    if role != Role.NONE:
        items.append((_("Enrolments"), reverse("training:enrolment_list")))
    if scope.sees_everything or scope.funding_ids or scope.factory_ids:
        items.append((_("Certificates"), reverse("training:certificate_list")))
    items.append((_("Modules"), reverse("training:module_list")))
    if user.is_staff:
        items.append((_("Administration"), reverse("admin:index")))
    current = request.path
    nav = [
        {
            "label": label,
            "url": url,
            "active": url == current or (url != "/" and current.startswith(url)),
        }
        for label, url in items
    ]
    return {"nav_items": nav, "portal_role": role.value}
