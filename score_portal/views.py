from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from score_portal import health, observability
from score_portal.access import can_see_operations
from score_portal.selectors import backlog_gauges, home_context


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The public landing page, or the signed-in person's own home, by role."""
    if not request.user.is_authenticated:
        return render(request, "home/landing.html")
    context = home_context(request.user, request.scope)
    context["can_see_operations"] = can_see_operations(request.scope)
    return render(request, f"home/{context['role']}.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness (``health.LivenessMiddleware`` answers it first; this is the same answer)."""
    return health.liveness()


@never_cache
@require_GET
def health_status(request: HttpRequest) -> HttpResponse:
    """Readiness: every component checked, 200 when all are ok, else 503.

    JSON (``?format=json`` or ``Accept: application/json``) for load balancers, compose and
    monitors, to anyone: only ``ok``/``failing`` per component, never the reason. The page,
    with the reasons, is for ILO admins and staff; anyone else gets 404.
    """
    wants_json = request.GET.get("format") == "json" or (
        request.get_preferred_type(["text/html", "application/json"]) == "application/json"
    )
    if not wants_json and not can_see_operations(request.scope):
        raise Http404
    outcomes = health.run()
    healthy = all(outcome.ok for outcome in outcomes)
    status = 200 if healthy else 503
    response: HttpResponse
    if wants_json:
        response = JsonResponse(
            {
                "status": "ok" if healthy else "failing",
                "components": {o.name: "ok" if o.ok else "failing" for o in outcomes},
            },
            status=status,
        )
    else:
        context = {"outcomes": outcomes, "healthy": healthy}
        response = render(request, "health/status.html", context, status=status)
    patch_vary_headers(response, ["Accept"])
    return response


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format, for a scraper with the METRICS_TOKEN bearer token or a
    signed-in ILO admin or staff member; 404 for anyone else."""
    if not (
        observability.bearer_token_matches(request, settings.METRICS_TOKEN)
        or can_see_operations(request.scope)
    ):
        raise Http404
    body = observability.render_metrics(backlog_gauges())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
