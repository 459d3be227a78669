from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from partners.selectors import partnerships_with_ledger
from score_portal.permissions import get_visible_or_404


@login_required
@require_GET
def partnership_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(partnerships_with_ledger(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "partners/partnership_list.html", {"page": page})


@login_required
@require_GET
def partnership_detail(request: HttpRequest, pk: int) -> HttpResponse:
    partnership = get_visible_or_404(partnerships_with_ledger(request.user), request.user, pk=pk)
    return render(
        request,
        "partners/partnership_detail.html",
        {"partnership": partnership, "modules": partnership.modules.all()},
    )
