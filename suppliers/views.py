from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partners.selectors import brands_of
from score_portal.access import (
    acts_for_a_brand,
    brand_ids,
    can_decide_factory_change,
    can_export_supplier_lists,
    can_manage_supplier_list,
    can_merge_factories,
    can_read_supplier_list,
    factory_change_decider_reach,
    factory_inviter_reach,
    get_visible_or_404,
    parse_id,
)
from suppliers import exports, services
from suppliers.filters import FactoryFilter
from suppliers.forms import SupplierImportForm
from suppliers.importing.columns import COLUMNS, map_headers
from suppliers.models import (
    BrandSupplier,
    Factory,
    FactoryChange,
    FactoryMerge,
    SupplierImport,
    SupplierImportRow,
)
from suppliers.selectors import brand_codes_for, import_rows, visible_aliases


@login_required
@require_GET
def factory_list(request: HttpRequest) -> HttpResponse:
    """The supplier list: the factories the user may see, with their own brands' codes.
    Suppliers that left a brand's list are hidden unless asked for (then they show when
    they left, and a way back)."""
    show_ended = request.GET.get("ended") in ("on", "true", "1")
    links = BrandSupplier.objects.visible_to(request.scope)
    if not show_ended:
        links = links.filter(ended_at__isnull=True)
    own_links = Prefetch(
        "brand_links", queryset=links.select_related("brand"), to_attr="visible_links"
    )
    factories = Factory.objects.visible_to(request.scope).prefetch_related(own_links)
    if not show_ended and not request.scope.sees_everything and request.scope.funding_ids:
        # On the user's lists only through links that ended: hidden (the filter shows them).
        visible = BrandSupplier.objects.visible_to(request.scope)
        factories = factories.exclude(
            Q(pk__in=visible.filter(ended_at__isnull=False).values("factory_id"))
            & ~Q(pk__in=visible.filter(ended_at__isnull=True).values("factory_id"))
        )
    factory_filter = FactoryFilter(request.GET, queryset=factories, request=request)
    page = Paginator(factory_filter.qs.order_by("name", "pk"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "suppliers/factory_list.html",
        {
            "filter": factory_filter,
            "page": page,
            "can_export": can_export_supplier_lists(request.scope),
            # The enrol page is for those who act for a brand (viewers only read).
            "can_enrol": acts_for_a_brand(request.scope),
            "show_ended": show_ended,
            "changes_waiting": _changes_waiting(request),
            "acting_brands": brand_ids(request.scope, acting=True),
            "can_merge": can_merge_factories(request.scope),
        },
    )


def _changes_waiting(request: HttpRequest) -> int:
    return (
        FactoryChange.objects.pending().filter(factory_change_decider_reach(request.scope)).count()
    )


@login_required
@require_POST
def link_restore(request: HttpRequest, pk: int) -> HttpResponse:
    """A supplier that left the brand's list is on it again (its code and history kept)."""
    link = get_visible_or_404(
        BrandSupplier.objects.select_related("brand", "factory"), request.scope, pk=pk
    )
    if not can_manage_supplier_list(request.scope, link.brand_id):
        raise PermissionDenied
    services.restore_link(link=link, user=request.user)  # type: ignore[arg-type]
    messages.success(
        request,
        _("%(factory)s is on %(brand)s's supplier list again.")
        % {"factory": link.factory, "brand": link.brand},
    )
    return redirect(f"{reverse('suppliers:factory_list')}?ended=on")


@login_required
@require_GET
def change_list(request: HttpRequest) -> HttpResponse:
    """Changes brands proposed to factories' shared data, waiting for the person's decision:
    a factory manager's factories, or every factory for ILO admins and staff."""
    changes = (
        FactoryChange.objects.pending()
        .filter(factory_change_decider_reach(request.scope))
        .select_related("factory", "brand")
    )
    page = Paginator(changes.order_by("factory__name", "field", "pk"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "suppliers/change_list.html", {"page": page})


@login_required
@require_POST
def change_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """A factory's manager or the ILO accepts or rejects a brand's proposed change."""
    change = get_object_or_404(FactoryChange.objects.select_related("factory"), pk=pk)
    get_visible_or_404(Factory.objects.all(), request.scope, pk=change.factory_id)
    if not services.can_decide_change(request.user, change):  # type: ignore[arg-type]
        raise PermissionDenied
    try:
        services.decide_change(
            change=change,
            accept=request.POST.get("accept") == "yes",
            user=request.user,  # type: ignore[arg-type]
        )
    except services.SupplierError as exc:
        messages.error(request, str(exc))
    if url_has_allowed_host_and_scheme(
        request.POST.get("next", ""), allowed_hosts={request.get_host()}
    ):
        return redirect(request.POST["next"])
    return redirect(change.factory)


@login_required
@require_GET
def factory_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        factory = get_visible_or_404(Factory.objects.all(), request.scope, pk=pk)
    except Http404:
        # A record merged into another: its address leads to the survivor, for those who
        # may see the survivor (anyone else: 404, as for any id).
        merge = FactoryMerge.objects.filter(merged_factory_id=pk).first()
        if merge is None:
            raise
        survivor = get_visible_or_404(Factory.objects.all(), request.scope, pk=merge.survivor_id)
        return redirect(survivor)
    brand_links = list(brand_codes_for(request.scope, factory))
    decides = can_decide_factory_change(request.scope, factory.pk)
    for link in brand_links:
        # Each code's history, to the brand (and the ILO): created, changed, ended,
        # restored, by whom and which import.
        link.code_history = list(  # type: ignore[attr-defined]
            link.history.select_related("history_user").order_by(  # type: ignore[attr-defined]
                "-history_date", "-history_id"
            )[:50]
        )
    keeper = can_merge_factories(request.scope)
    return render(
        request,
        "suppliers/factory_detail.html",
        {
            "factory": factory,
            "brand_links": brand_links,
            # Proposed changes to its shared data: its managers and the ILO decide; a brand
            # sees its own.
            "proposed_changes": (
                factory.proposed_changes.pending().select_related("brand", "proposed_by")
                if decides
                else factory.proposed_changes.pending()
                .filter(brand_id__in=request.scope.funding_ids)
                .select_related("brand")
            ),
            "decides_changes": decides,
            "aliases": visible_aliases(request.scope, factory),
            "merges": factory.merges.select_related("merged_by") if keeper else (),
            "can_merge": keeper,
            # Its managers are invited on training's page (the factory invitations).
            "may_invite_manager": Factory.objects.filter(pk=factory.pk)
            .filter(factory_inviter_reach(request.scope, Factory))
            .exists(),
            # Training's enrolments of this factory, by the relation (suppliers sit below
            # training and do not import it).
            "enrolments": factory.enrolments.visible_to(request.scope)
            .select_related("factory", "module", "partnership__partner", "cohort")
            .order_by("-created_at"),
        },
    )


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    imports = SupplierImport.objects.visible_to(request.scope).select_related(
        "brand", "uploaded_by"
    )
    page = Paginator(imports.order_by("-created_at"), 50).get_page(request.GET.get("page"))
    can_upload = acts_for_a_brand(request.scope)
    return render(request, "suppliers/import_list.html", {"page": page, "can_upload": can_upload})


@login_required
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    """Upload a supplier list; it is read into a preview, nothing is written yet."""
    brands = brands_of(request.scope, acting=True)
    if not brands.exists():
        raise PermissionDenied
    form = SupplierImportForm(request.POST or None, request.FILES or None, brands=brands)
    if request.method == "POST" and form.is_valid():
        try:
            supplier_import = services.start_import(
                brand=form.cleaned_data["brand"],
                user=request.user,  # type: ignore[arg-type]
                upload=form.cleaned_data["file"],
                encoding=form.cleaned_data["encoding"],
                mode=form.cleaned_data["mode"],
            )
        except services.SupplierError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect(supplier_import)
    return render(request, "suppliers/import_new.html", {"form": form, "columns": COLUMNS})


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    """An empty list with every column, and one example row."""
    headers = [c.header for c in COLUMNS]
    example = {
        "name": "Dongguan Huamei Garment Co., Ltd.",
        "address": "12 Industrial Road, Humen Town",
        "country": "CN",
        "supplier_code": "A-001",
        "city": "Dongguan",
        "sector": "garments",
        "workers_total": "250",
        "workers_women": "140",
    }
    body = exports.as_csv([[example.get(c.field, "") for c in COLUMNS]], headers)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="supplier-list-template.csv"'
    return response


def _visible_import(request: HttpRequest, pk: int) -> SupplierImport:
    return get_visible_or_404(
        SupplierImport.objects.select_related("brand", "uploaded_by"), request.scope, pk=pk
    )


# The export's file names: fixed, whatever the URL held (the URL allows only these two).
EXPORT_NAMES = {"csv": "suppliers.csv", "xlsx": "suppliers.xlsx"}

OUTCOME_FILTERS = [c for c in SupplierImportRow.Outcome]


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview (before confirming) and the result (after): counts and rows by outcome."""
    supplier_import = _visible_import(request, pk)
    return render(
        request, "suppliers/import_detail.html", _detail_context(request, supplier_import)
    )


# How many of the suppliers a "whole list" leaves out the preview names (the count is whole).
ENDING_SHOWN = 200


def _detail_context(request: HttpRequest, supplier_import: SupplierImport) -> dict[str, Any]:
    outcome = request.GET.get("outcome", "")
    if outcome not in SupplierImportRow.Outcome.values:
        outcome = ""
    rows = import_rows(supplier_import, outcome=outcome)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = f"outcome={outcome}" if outcome else ""
    here = f"{query}&page={page.number}" if query else f"page={page.number}"
    previewed = supplier_import.status == SupplierImport.Status.PREVIEWED
    return {
        "import": supplier_import,
        "page": page,
        "outcome": outcome,
        "outcomes": OUTCOME_FILTERS,
        "can_act": can_manage_supplier_list(request.scope, supplier_import.brand_id),
        # The lifecycle says what may happen now (services.TRANSITIONS), not the template.
        "awaits_decisions": services.awaits_decisions(supplier_import),
        "may_confirm": SupplierImport.Status.CONFIRMED
        in services.allowed_moves(supplier_import, request.user),
        "query": query,
        "here": here,
        "progress": _progress(supplier_import),
        "ending": (
            services.ending_links(supplier_import)[:ENDING_SHOWN]
            if previewed and supplier_import.links_ending
            else []
        ),
        "changes_nothing": previewed
        and supplier_import.rows_total > 0
        and not (
            supplier_import.rows_new
            or supplier_import.rows_matched
            or supplier_import.rows_updated
            or supplier_import.rows_review
            or supplier_import.links_ending
        ),
        "min_score": request.POST.get("min_score") or DEFAULT_MIN_SCORE,
    }


# "Accept all possible matches at least this alike": the form's first value.
DEFAULT_MIN_SCORE = 90


def _preview_response(request: HttpRequest, supplier_import: SupplierImport) -> HttpResponse:
    """After a decision: the preview block again (counts, buttons, this page of rows), for
    HTMX to swap in; a plain POST goes back to the page."""
    if request.htmx:
        supplier_import.refresh_from_db()
        return render(
            request,
            "suppliers/includes/import_preview.html",
            _detail_context(request, supplier_import),
        )
    url = supplier_import.get_absolute_url()
    query = request.GET.urlencode()
    return redirect(f"{url}?{query}" if query else url)


def _progress(supplier_import: SupplierImport) -> int:
    if supplier_import.status == SupplierImport.Status.IMPORTING:
        return int(cache.get(services.progress_key(supplier_import.pk)) or 0)
    return supplier_import.progress


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone, polled by HTMX; once the work is done the page reloads."""
    supplier_import = _visible_import(request, pk)
    response = render(
        request,
        "suppliers/includes/import_progress.html",
        {"import": supplier_import, "progress": _progress(supplier_import)},
    )
    if not supplier_import.is_working and request.htmx:
        response["HX-Refresh"] = "true"
    return response


def _acting_import(request: HttpRequest, pk: int) -> SupplierImport:
    supplier_import = _visible_import(request, pk)
    if not can_manage_supplier_list(request.scope, supplier_import.brand_id):
        raise PermissionDenied
    return supplier_import


@login_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    supplier_import = _acting_import(request, pk)
    try:
        supplier_import = services.confirm_import(
            supplier_import=supplier_import,
            user=request.user,  # type: ignore[arg-type]
        )
    except services.SupplierError as exc:
        messages.error(request, str(exc))
    else:
        if supplier_import.status == SupplierImport.Status.DONE:
            messages.success(request, _("The supplier list is imported."))
    return redirect(supplier_import)


@login_required
@require_POST
def import_decide(request: HttpRequest, pk: int, row_pk: int) -> HttpResponse:
    """Same factory, or a different one? Remembered for the brand's next uploads. Every
    row the answer settles, and the counts, change on the page (HTMX)."""
    supplier_import = _acting_import(request, pk)
    row = get_object_or_404(
        SupplierImportRow.objects.select_related("supplier_import", "candidate"),
        supplier_import=supplier_import,
        pk=row_pk,
    )
    try:
        services.decide_match(
            row=row,
            is_same=request.POST.get("same") == "yes",
            user=request.user,  # type: ignore[arg-type]
        )
    except services.SupplierError as exc:
        messages.error(request, str(exc))
    return _preview_response(request, supplier_import)


@login_required
@require_POST
def import_decide_all(request: HttpRequest, pk: int) -> HttpResponse:
    """All possible matches at once: the same factory, none of them, or those at least
    ``min_score`` % alike."""
    supplier_import = _acting_import(request, pk)
    min_score: int | None = None
    if "min_score" in request.POST:
        try:
            min_score = int(request.POST["min_score"])
        except ValueError:
            min_score = -1  # refused by the service, with its message
    try:
        services.decide_all_matches(
            supplier_import=supplier_import,
            is_same=request.POST.get("same") == "yes",
            user=request.user,  # type: ignore[arg-type]
            min_score=min_score,
        )
    except services.SupplierError as exc:
        messages.error(request, str(exc))
    return _preview_response(request, supplier_import)


@login_required
@require_GET
def import_errors(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The rows with errors, as the file had them, plus an Error column: fix and re-upload."""
    supplier_import = _visible_import(request, pk)
    rows = (
        SupplierImportRow.objects.filter(
            supplier_import=supplier_import, outcome=SupplierImportRow.Outcome.ERROR
        )
        .order_by("line")
        .only("line", "data", "errors")
    )
    width = len(supplier_import.headers)
    mapping = map_headers(supplier_import.headers)[0]

    def cells(data: dict[str, Any]) -> list[str]:
        """The file's cells; for a row that became an error after a decision (no cells
        kept), its values in their columns."""
        if "_cells" in data:
            return list(data["_cells"])
        return [str(data.get(mapping.get(i, ""), "")) for i in range(width)]

    lines = exports.csv_lines(
        (
            [
                *(exports.neutralise(c) for c in (cells(row.data) + [""] * width)[:width]),
                exports.neutralise(row.error_text),
            ]
            for row in rows.iterator(2000)
        ),
        [*supplier_import.headers, _("Error")],
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    # The uploader's file name, encoded by Django (RFC 6266): never raw text in a header.
    name = supplier_import.original_filename.rsplit(".", 1)[0]
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{name}-errors.csv"
    )
    return response


@login_required
@require_GET
def supplier_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The user's own brands' supplier lists (never another brand's links or codes)."""
    if not can_export_supplier_lists(request.scope):
        raise PermissionDenied
    links = BrandSupplier.objects.visible_to(request.scope).on_list()
    return _export(
        request, fmt, links, exports.supplier_rows(links), exports.HEADERS, EXPORT_NAMES[fmt]
    )


def _export(
    request: HttpRequest,
    fmt: str,
    links: QuerySet[BrandSupplier],
    rows: Iterator[list[str]],
    headers: list[str],
    filename: str,
) -> HttpResponse | StreamingHttpResponse:
    """A list as an XLSX built whole (refused past SUPPLIER_EXPORT_XLSX_MAX_ROWS) or a CSV
    streamed a line at a time."""
    response: HttpResponse | StreamingHttpResponse
    if fmt == "xlsx":
        total, limit = links.count(), settings.SUPPLIER_EXPORT_XLSX_MAX_ROWS
        if total > limit:
            messages.warning(
                request,
                _(
                    "Your list has %(total)s suppliers: an Excel export holds at most "
                    "%(limit)s. Use “Export CSV”: it has them all, and Excel opens it too."
                )
                % {"total": intcomma(total), "limit": intcomma(limit)},
            )
            return redirect("suppliers:factory_list")
        response = HttpResponse(
            exports.as_xlsx(rows, headers),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:  # streamed: memory stays flat however long the list
        response = StreamingHttpResponse(
            exports.csv_lines(rows, headers), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=filename
    )
    return response


OSH_EXPORT_NAMES = {"csv": "open-supply-hub.csv", "xlsx": "open-supply-hub.xlsx"}


@login_required
@require_GET
def supplier_export_osh(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """A brand's list as an Open Supply Hub facility list (``?brand=`` narrows to one of
    the user's brands; without it, every list the user sees, each factory once)."""
    if not can_export_supplier_lists(request.scope):
        raise PermissionDenied
    links = BrandSupplier.objects.visible_to(request.scope)
    if "brand" in request.GET:
        brand_id = parse_id(request.GET["brand"])
        if brand_id is None or not can_read_supplier_list(request.scope, brand_id):
            raise Http404
        links = links.filter(brand_id=brand_id)
    return _export(
        request, fmt, links, exports.osh_rows(links), exports.OSH_HEADERS, OSH_EXPORT_NAMES[fmt]
    )
