from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from score_portal import notices
from score_portal.access import menu, tools
from score_portal.scope import ANONYMOUS

# The menu's sections (score_portal.access.menu says who sees which): label and URL name.
SECTIONS = {
    "home": (_("Home"), "home"),
    "partnerships": (_("Partnerships"), "partners:partnership_list"),
    "suppliers": (_("Suppliers"), "suppliers:factory_list"),
    "imports": (_("Imports"), "suppliers:import_list"),
    "progress": (_("Progress"), "training:matrix"),
    "results": (_("Results"), "reporting:portfolio"),
    # "Results" (the page says "Programme results"): the header keeps to one row at 1280 px.
    "programme_results": (_("Results"), "reporting:programme"),
    "cohorts": (_("Cohorts"), "training:cohort_list"),
    "enrolments": (_("Enrolments"), "training:enrolment_list"),
    "certificates": (_("Certificates"), "training:certificate_list"),
    "modules": (_("Modules"), "training:module_list"),
    "administration": (_("Administration"), "admin:index"),
}
# The tools in the person's menu beside their profile (score_portal.access.tools).
TOOLS = {
    "organisations": (_("Organisations and people"), "partners:organisation_list"),
    "trainers": (_("Trainers"), "training:trainer_list"),
    "certifications": (_("Your certifications"), "training:trainer_detail"),
}


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The navigation a person sees follows what they can reach."""
    scope = getattr(request, "scope", ANONYMOUS)
    if not scope.is_authenticated:
        return {"nav_items": [], "admin_url": None, "portal_role": None, "tool_items": []}
    current = request.path
    sections = menu(scope)
    # The Django admin is a tool for repairs, not a section: it sits in the person's menu, so
    # that the header keeps to one row on a 1280 px screen in every language.
    admin_url = reverse("admin:index") if "administration" in sections else None
    links = [
        (SECTIONS[section][0], reverse(SECTIONS[section][1]))
        for section in sections
        if section != "administration"
    ]
    # One link at most is current: the section whose address is the longest prefix of this
    # page's ("/suppliers/imports/…" is in Imports, not also in Suppliers). It is the page
    # itself ("page") or a page within that section ("true").
    within = [url for _, url in links if url == current or (url != "/" and current.startswith(url))]
    section = max(within, key=len, default=None)
    nav = [
        {
            "label": label,
            "url": url,
            "current": ("page" if url == current else "true") if url == section else "",
        }
        for label, url in links
    ]
    tool_items = [
        {
            "label": TOOLS[tool][0],
            "url": reverse(
                TOOLS[tool][1], args=[scope.user_id] if tool == "certifications" else []
            ),
        }
        for tool in tools(scope)
    ]
    return {
        "nav_items": nav,
        "admin_url": admin_url,
        "portal_role": scope.primary_role.value,
        "tool_items": tool_items,
    }


class UnreadNotices:
    """The header's unread count, read once, and only by a page that shows it: one query on
    a partial index, straight from the database (not the cache: the header works while Redis
    is down)."""

    def __init__(self, user: Any) -> None:
        self._user = user

    @cached_property
    def count(self) -> int:
        return notices.unread_count(self._user)


def notices_badge(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notices": UnreadNotices(user)}
