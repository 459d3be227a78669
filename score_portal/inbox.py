"""The inbox pages (/accounts/notices/): a person's notices, and which come by email.

Each person sees their own notices only: anyone else's answers 404, like a missing one.
Opening a notice marks it read and follows its link; "Mark read" and "Mark all read" are
forms that work without JavaScript (htmx swaps the one row and the header's count in place).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from score_portal import notices
from score_portal.context_processors import UnreadNotices
from score_portal.models import Notice, User

PER_PAGE = 25


def _back(request: HttpRequest) -> str:
    """Where a form sends the person back to: the inbox page they were on."""
    target = request.POST.get("next", "")
    inbox = reverse("notices:inbox")
    if target.startswith(inbox) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return inbox


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    unread_only = request.GET.get("show") == "unread"
    page = Paginator(notices.inbox(user, unread_only=unread_only), PER_PAGE).get_page(
        request.GET.get("page")
    )
    for notice in page.object_list:
        notice.kind_label = notices.label_of(notice.kind)  # type: ignore[attr-defined]
    return render(
        request,
        "notices/inbox.html",
        {
            "page": page,
            "unread_only": unread_only,
            "query": "show=unread" if unread_only else "",
            "here": request.get_full_path(),
        },
    )


@login_required
def open_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the notice read and follow its link (the inbox when it has none)."""
    notice = get_object_or_404(Notice, pk=pk, recipient=request.user)
    notices.mark_read(notice=notice)
    return redirect(notices.safe_link(notice.link) or reverse("notices:inbox"))


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notice read (``read=0``: unread again)."""
    notice = get_object_or_404(Notice, pk=pk, recipient=request.user)
    notices.mark_read(notice=notice, read=request.POST.get("read", "1") != "0")
    # htmx: the row, and the header's count out of band.
    if request.htmx:  # type: ignore[attr-defined]
        notice.kind_label = notices.label_of(notice.kind)  # type: ignore[attr-defined]
        return render(
            request,
            "notices/includes/notice_row.html",
            {
                "notice": notice,
                "here": _back(request),
                "unread_notices": UnreadNotices(request.user),
                "swap_badge": True,
            },
        )
    return redirect(_back(request))


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = notices.mark_all_read(user=request.user)  # type: ignore[arg-type]
    if count:
        messages.success(
            request,
            ngettext("%(count)d notice marked read.", "%(count)d notices marked read.", count)
            % {"count": count},
        )
    return redirect(_back(request))


class NoticeSettingsForm(forms.Form):
    """One "also by email" box per kind of notice the person can receive, and the digest."""

    daily_digest = forms.BooleanField(
        label=_("Send me a daily digest"),
        required=False,
        help_text=_(
            "Once a day, in the morning of your time zone: one email listing the notices of "
            "the kinds above that you did not receive by email and have not read yet."
        ),
    )

    def __init__(self, *args: Any, kinds: list[notices.NoticeKind], current: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.kinds = kinds
        for kind in kinds:
            self.fields[f"email_{kind.code}"] = forms.BooleanField(
                label=str(kind.label),
                required=False,
                # A kind that always emails shows ticked and cannot be changed (the reason
                # beside it); a disabled field ignores what is posted.
                initial=not kind.email_optional or kind.code not in current.email_off,
                disabled=not kind.email_optional,
                help_text=str(kind.why_always) if not kind.email_optional else "",
            )
        self.fields["daily_digest"].initial = current.daily_digest
        # The digest's box comes after the kinds.
        self.order_fields([*(f"email_{kind.code}" for kind in kinds), "daily_digest"])

    def kind_fields(self) -> list[forms.BoundField]:
        return [self[f"email_{kind.code}"] for kind in self.kinds]

    def email_off(self) -> list[str]:
        return [
            kind.code
            for kind in self.kinds
            if kind.email_optional and not self.cleaned_data.get(f"email_{kind.code}")
        ]


@login_required
def notice_settings(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    current = notices.settings_of(user)
    kinds = notices.offered(request.scope)  # type: ignore[attr-defined]
    form = NoticeSettingsForm(request.POST or None, kinds=kinds, current=current)
    if request.method == "POST" and form.is_valid():
        # Kinds not offered to the person keep their stored choice.
        offered = {kind.code for kind in kinds}
        kept = [code for code in current.email_off if code not in offered]
        notices.save_settings(
            user=user,
            email_off=[*kept, *form.email_off()],
            daily_digest=form.cleaned_data["daily_digest"],
        )
        messages.success(request, _("Your notice settings are saved."))
        return redirect("notices:settings")
    return render(request, "notices/settings.html", {"form": form})
