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
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partners.selectors import brands_of
from score_portal.access import (
    acts_for_a_brand,
    can_export_supplier_lists,
    can_manage_supplier_list,
    can_merge_factories,
    get_visible_or_404,
    parse_id,
)
from suppliers import exports, services
from suppliers.filters import FactoryFilter
from suppliers.forms import SupplierImportForm
from suppliers.importing.columns import COLUMNS
from suppliers.models import (
    BrandSupplier,
    Factory,
    FactoryMerge,
    SupplierImport,
    SupplierImportRow,
)
from suppliers.selectors import brand_codes_for, import_rows, visible_aliases


@login_required
@require_GET
def factory_list(request: HttpRequest) -> HttpResponse:
    """The supplier list: the factories the user may see, with their own brands' codes."""
    own_links = Prefetch(
        "brand_links",
        queryset=BrandSupplier.objects.visible_to(request.scope).select_related("brand"),
        to_attr="visible_links",
    )
    factories = Factory.objects.visible_to(request.scope).prefetch_related(own_links)
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
            "can_merge": can_merge_factories(request.scope),
        },
    )


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
    keeper = can_merge_factories(request.scope)
    return render(
        request,
        "suppliers/factory_detail.html",
        {
            "factory": factory,
            "aliases": visible_aliases(request.scope, factory),
            "merges": factory.merges.select_related("merged_by") if keeper else (),
            "can_merge": keeper,
            "brand_links": brand_codes_for(request.scope, factory),
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
    outcome = request.GET.get("outcome", "")
    if outcome not in SupplierImportRow.Outcome.values:
        outcome = ""
    rows = import_rows(supplier_import, outcome=outcome)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    context: dict[str, Any] = {
        "import": supplier_import,
        "page": page,
        "outcome": outcome,
        "outcomes": OUTCOME_FILTERS,
        "can_act": can_manage_supplier_list(request.scope, supplier_import.brand_id),
        "query": f"outcome={outcome}" if outcome else "",
        "progress": _progress(supplier_import),
    }
    return render(request, "suppliers/import_detail.html", context)


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
    """Same factory, or a different one? Remembered for the brand's next uploads."""
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
    if request.htmx:
        supplier_import.refresh_from_db()
        return render(
            request,
            "suppliers/includes/import_row.html",
            {"row": row, "import": supplier_import, "can_act": True},
        )
    return redirect(supplier_import)


@login_required
@require_POST
def import_decide_all(request: HttpRequest, pk: int) -> HttpResponse:
    supplier_import = _acting_import(request, pk)
    try:
        services.decide_all_matches(
            supplier_import=supplier_import,
            is_same=request.POST.get("same") == "yes",
            user=request.user,  # type: ignore[arg-type]
        )
    except services.SupplierError as exc:
        messages.error(request, str(exc))
    return redirect(supplier_import)


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
    lines = exports.csv_lines(
        (
            [
                *(
                    exports.neutralise(c)
                    for c in (row.data.get("_cells", []) + [""] * width)[:width]
                ),
                exports.neutralise(row.error_text),
            ]
            for row in rows.iterator(2000)
        ),
        [*supplier_import.headers, "Error"],
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
    links = BrandSupplier.objects.visible_to(request.scope)
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
        if brand_id is None or not (
            request.scope.sees_everything or brand_id in request.scope.funding_ids
        ):
            raise Http404
        links = links.filter(brand_id=brand_id)
    return _export(
        request, fmt, links, exports.osh_rows(links), exports.OSH_HEADERS, OSH_EXPORT_NAMES[fmt]
    )
