from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from training.selectors import active_modules


@login_required
@require_GET
def module_list(request: HttpRequest) -> HttpResponse:
    """The catalogue is public knowledge for every signed-in person."""
    modules = active_modules().prefetch_related("kpis")
    return render(request, "training/module_list.html", {"modules": modules})
