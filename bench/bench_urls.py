"""The portal's URLs plus ``/bench/bare-list/``: 50 factories through a minimal template.

The bare list is the yardstick of bench/pages.py: no login, no context processors, one
query on the primary-key index, a 50-row table. What a page costs beyond it is the page's own.
"""

from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine
from django.urls import path

from score_portal.urls import urlpatterns as portal_urlpatterns
from suppliers.models import Factory

_engine = Engine(
    dirs=[str(Path(__file__).resolve().parent / "templates")],
    loaders=[
        ("django.template.loaders.cached.Loader", ["django.template.loaders.filesystem.Loader"])
    ],
)


def bare_list(request: HttpRequest) -> HttpResponse:
    factories = Factory.objects.order_by("pk").only("pk", "name", "city", "country", "sector")[:50]
    template = _engine.get_template("bare_list.html")
    return HttpResponse(template.render(Context({"factories": factories})))


urlpatterns = [*portal_urlpatterns, path("bench/bare-list/", bare_list, name="bench_bare_list")]
