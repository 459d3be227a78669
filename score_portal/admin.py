"""The Django admin of the platform's own models, and the "Background jobs" page: every kind
of background job (score_portal.jobs) that failed or is stuck, in one list, with a retry."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from score_portal import jobs
from score_portal.models import OutboundEmail, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "language")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """Delivery status of every email, for ILO admins; the outbox is written by the portal only."""

    list_display = [
        "created_at",
        "to",
        "subject",
        "template",
        "status",
        "attempts",
        "claimed_at",
        "sent_at",
        "short_error",
    ]
    list_filter = ["status", "template"]
    search_fields = ["to", "subject"]
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    @admin.display(description=_("last error"))
    def short_error(self, email: OutboundEmail) -> str:
        return Truncator(email.last_error).chars(80)

    @admin.action(description=_("Send the selected failed or stuck emails again"))
    def send_again(self, request, queryset):  # type: ignore[no-untyped-def]
        """A fresh set of attempts for each (jobs.retry); the worker's claim still
        guarantees each is sent once. An email being sent right now is left alone."""
        count = jobs.retry(OutboundEmail, queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            ngettext("%(count)d email queued again.", "%(count)d emails queued again.", count)
            % {"count": count},
        )


# --- Background jobs: one page for every kind ----------------------------------------------

# Rows shown per kind: a list longer than this means an outage, and the retry of a page of
# them at a time is what a person can judge.
JOBS_PER_KIND = 100


@dataclass(frozen=True)
class JobRow:
    key: str
    kind: str
    job: jobs.Job
    url: str
    state: str


def _may(request: HttpRequest, kind: jobs.Kind, action: str) -> bool:
    meta = kind.model._meta
    return request.user.has_perm(f"{meta.app_label}.{action}_{meta.model_name}")


def _job_rows(kinds: list[jobs.Kind]) -> list[JobRow]:
    now = timezone.now()
    rows = []
    for kind in kinds:
        meta = kind.model._meta
        failed = list(jobs.failed(kind).order_by("pk")[:JOBS_PER_KIND])
        stuck = jobs.stuck(kind, now).exclude(pk__in=[job.pk for job in failed])
        for state, found in (
            (_("failed"), failed),
            (_("stuck"), stuck.order_by("pk")[: JOBS_PER_KIND - len(failed)]),
        ):
            rows += [
                JobRow(
                    key=f"{kind.label}:{job.pk}",
                    kind=str(meta.verbose_name),
                    job=job,
                    url=reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[job.pk]),
                    state=str(state),
                )
                for job in found
            ]
    return rows


def background_jobs(request: HttpRequest) -> HttpResponse:
    """Every email, certificate render and supplier-list import that failed for good or is
    stuck (held longer than JOB_STALE_MINUTES, or due that long without a worker taking
    it), with its error, attempts and a link to it; the selected ones can be retried."""
    kinds = [kind for kind in jobs.kinds() if _may(request, kind, "view")]
    if not kinds:
        raise PermissionDenied
    if request.method == "POST":
        chosen: dict[str, list[int]] = {}
        for key in request.POST.getlist("job"):
            label, _sep, pk = key.rpartition(":")
            if pk.isdigit():
                chosen.setdefault(label, []).append(int(pk))
        count = 0
        with transaction.atomic():
            for kind in kinds:
                if kind.label in chosen and _may(request, kind, "change"):
                    count += jobs.retry(kind.model, chosen[kind.label])
        messages.success(
            request,
            ngettext("%(count)d job queued again.", "%(count)d jobs queued again.", count)
            % {"count": count},
        )
        return HttpResponseRedirect(request.path)
    context = {
        **admin.site.each_context(request),
        "title": _("Background jobs"),
        "rows": _job_rows(kinds),
        "stale_minutes": jobs.stale_after().total_seconds() // 60,
        "per_kind": JOBS_PER_KIND,
    }
    return render(request, "admin/background_jobs.html", context)
