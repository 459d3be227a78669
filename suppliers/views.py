from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from score_portal.permissions import get_visible_or_404
from suppliers.filters import FactoryFilter
from suppliers.models import BrandSupplier, Factory, SupplierImport
from suppliers.selectors import brand_codes_for
from training.selectors import enrolments_for


@login_required
@require_GET
def factory_list(request: HttpRequest) -> HttpResponse:
    """The supplier list: the factories the user may see, with their own brands' codes."""
    own_links = Prefetch(
        "brand_links",
        queryset=BrandSupplier.objects.visible_to(request.user).select_related("brand"),
        to_attr="visible_links",
    )
    factories = Factory.objects.visible_to(request.user).prefetch_related(own_links)
    factory_filter = FactoryFilter(request.GET, queryset=factories)
    page = Paginator(factory_filter.qs.order_by("name", "pk"), 50).get_page(request.GET.get("page"))
    return render(request, "suppliers/factory_list.html", {"filter": factory_filter, "page": page})


@login_required
@require_GET
def factory_detail(request: HttpRequest, pk: int) -> HttpResponse:
    factory = get_visible_or_404(Factory.objects.all(), request.user, pk=pk)
    return render(
        request,
        "suppliers/factory_detail.html",
        {
            "factory": factory,
            "brand_links": brand_codes_for(request.user, factory),
            "enrolments": enrolments_for(request.user).filter(factory=factory),
        },
    )


@login_required
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    imports = SupplierImport.objects.visible_to(request.user).select_related("brand", "uploaded_by")
    page = Paginator(imports.order_by("-created_at"), 50).get_page(request.GET.get("page"))
    return render(request, "suppliers/import_list.html", {"page": page})


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    supplier_import = get_visible_or_404(
        SupplierImport.objects.select_related("brand", "uploaded_by"), request.user, pk=pk
    )
    return render(request, "suppliers/import_detail.html", {"import": supplier_import})
