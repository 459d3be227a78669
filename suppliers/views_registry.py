"""The factory registry kept by the ILO: the queue of likely duplicates, and merging two
records of one factory (preview, then confirm)."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_countries import countries

from score_portal.access import can_merge_factories, parse_id
from suppliers import merging
from suppliers.duplicates import dismiss_candidate
from suppliers.forms import MergeForm
from suppliers.models import DuplicateCandidate, Factory, FactoryMerge

logger = logging.getLogger(__name__)


def _require_keeper(request: HttpRequest) -> None:
    """Anyone but ILO admins and staff: the registry pages do not exist (404)."""
    if not can_merge_factories(request.scope):
        raise Http404


@login_required
@require_GET
def duplicate_list(request: HttpRequest) -> HttpResponse:
    _require_keeper(request)
    country = request.GET.get("country", "")
    if country not in countries:
        country = ""
    pairs = DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.OPEN)
    if country:
        pairs = pairs.filter(country=country)
    page = Paginator(
        pairs.select_related("factory_a", "factory_b").order_by("-score", "pk"), 50
    ).get_page(request.GET.get("page"))
    counts = (
        DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.OPEN)
        .order_by()
        .values_list("country")
        .distinct()
    )
    return render(
        request,
        "suppliers/duplicate_list.html",
        {
            "page": page,
            "country": country,
            "countries": sorted(
                ((code, countries.name(code)) for (code,) in counts), key=lambda c: c[1]
            ),
            "query": urlencode({"country": country}) if country else "",
        },
    )


def _queue_search() -> None:
    from suppliers.tasks import find_duplicate_factories

    try:
        find_duplicate_factories.delay()
    except Exception:  # the broker is down: the nightly run will do it
        logger.exception("Could not queue the duplicate search")


@login_required
@require_POST
def duplicate_search(request: HttpRequest) -> HttpResponse:
    """Run the duplicate search now, in the background (beat also runs it nightly)."""
    _require_keeper(request)
    transaction.on_commit(_queue_search)
    messages.success(
        request,
        _("The search for duplicates runs in the background: reload this page in a few minutes."),
    )
    return redirect("suppliers:duplicate_list")


@login_required
@require_POST
def duplicate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    _require_keeper(request)
    candidate = get_object_or_404(DuplicateCandidate, pk=pk)
    dismiss_candidate(candidate=candidate, actor=request.user)
    messages.success(
        request,
        _("%(a)s and %(b)s: not the same factory. The pair stays out of the queue.")
        % {"a": candidate.factory_a, "b": candidate.factory_b},
    )
    country = request.POST.get("country", "")
    url = reverse("suppliers:duplicate_list")
    return redirect(f"{url}?{urlencode({'country': country})}" if country in countries else url)


COMPARED = ("name", "name_latin", "address", "city", "country", "os_id", "sector",
            "workers_total", "registration_number", "created_at")  # fmt: skip


def _shown(factory: Factory, name: str) -> object:
    if name == "country":
        return factory.country.name
    if name == "sector":
        return factory.get_sector_display()
    value = getattr(factory, name)
    return "—" if value in ("", None) else value


@login_required
@require_http_methods(["GET", "POST"])
def factory_merge(request: HttpRequest) -> HttpResponse:
    """Preview merging one record into another (GET), then merge (POST)."""
    _require_keeper(request)
    data = request.POST if request.method == "POST" else request.GET
    keep_id, merge_id = parse_id(data.get("keep")), parse_id(data.get("merge"))
    if keep_id is None or merge_id is None:
        raise Http404
    survivor = get_object_or_404(Factory, pk=keep_id)
    merged = get_object_or_404(Factory, pk=merge_id)
    form = MergeForm(request.POST or None)
    plan, error = None, ""
    try:
        plan = merging.plan_merge(survivor=survivor, merged=merged)
    except merging.MergeError as exc:
        error = str(exc)
    if request.method == "POST" and plan is not None and form.is_valid():
        try:
            record = merging.merge_factories(
                survivor_id=survivor.pk,
                merged_id=merged.pk,
                actor=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
                fingerprint=form.cleaned_data["fingerprint"],
            )
        except merging.MergeChanged as exc:
            messages.warning(request, str(exc))
            plan = merging.plan_merge(survivor=survivor, merged=merged)
        except merging.MergeError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("%(merged)s (record %(id)s) is now part of %(survivor)s.")
                % {
                    "merged": record.merged_name,
                    "id": record.merged_factory_id,
                    "survivor": survivor,
                },
            )
            return redirect(survivor)
    if plan is not None:
        # Always the current preview's fingerprint: a changed plan is seen before confirming.
        if form.is_bound:
            form.data = form.data.copy()
            form.data["fingerprint"] = plan.fingerprint
        else:
            form.initial["fingerprint"] = plan.fingerprint
    return render(
        request,
        "suppliers/merge_preview.html",
        {
            "survivor": survivor,
            "merged": merged,
            "plan": plan,
            "error": error,
            "form": form,
            "rows": [
                (
                    Factory._meta.get_field(name).verbose_name,
                    _shown(survivor, name),
                    _shown(merged, name),
                )
                for name in COMPARED
            ],
            "filled": [
                (Factory._meta.get_field(name).verbose_name, value)
                for name, value in (plan.filled if plan else ())
            ],
        },
    )


@login_required
@require_GET
def merge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A merge as recorded: who, when, which records, why, and what moved."""
    _require_keeper(request)
    record = get_object_or_404(FactoryMerge.objects.select_related("survivor", "merged_by"), pk=pk)
    return render(
        request,
        "suppliers/merge_detail.html",
        {
            "record": record,
            "aliases": record.aliases.select_related("brand"),
            "merged_fields": [
                (Factory._meta.get_field(name).verbose_name, value)
                for name, value in record.merged_record.items()
                if name in merging.RECORD_FIELDS
            ],
        },
    )
