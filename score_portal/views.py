from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from score_portal.selectors import home_context


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The public landing page, or the signed-in person's own home, by role."""
    if not request.user.is_authenticated:
        return render(request, "home/landing.html")
    context = home_context(request.user, request.scope)
    return render(request, f"home/{context['role']}.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for the load balancer: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})
