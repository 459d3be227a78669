from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from search.selectors import KINDS, MIN_LENGTH, search


@login_required
@require_GET
def results(request: HttpRequest) -> HttpResponse:
    """The search box's page: what ``?q=`` finds within the person's scope, by kind
    (``?kind=`` narrows to one kind and shows more of it)."""
    text = request.GET.get("q", "").replace("\x00", "")
    kind = request.GET.get("kind", "")
    kind = kind if kind in KINDS else ""
    found = search(request.scope, text, kind)
    return render(
        request,
        "search/results.html",
        {
            "search": found,
            "kind": kind,
            "kind_label": KINDS.get(kind, ""),
            "min_length": MIN_LENGTH,
        },
    )
