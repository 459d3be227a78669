"""Every page of the portal's own apps asks an anonymous visitor to sign in.

The URLs are read from the resolver, so a new view is covered the day it is added; the few
public pages are listed here on purpose.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

APPS = (
    "partners",
    "suppliers",
    "training",
    "reporting",
    "search",
    "notices",
    "webhooks",
    "api_keys",
    "api",
)
# e.g. the certificate verification page lives outside these apps; the API's schema, its
# documentation and its certificate check are public.
PUBLIC: set[str] = {"api:schema", "api:docs", "api:certificate-verify"}
SAMPLE = {
    "int": "1",
    "slug": "csv",
    "str": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(
                entry.url_patterns,
                prefix + str(entry.pattern),
                entry.namespace or namespace,
            )
        elif isinstance(entry, URLPattern) and namespace in APPS:
            yield f"{namespace}:{entry.name}", prefix + str(entry.pattern)


# Values for the groups of regex patterns (re_path), which are reversed by name.
REGEX_SAMPLE = {"fmt": "csv", "pk": "1", "row": "1", "reading": "1"}


def _concrete(name: str, route: str) -> str:
    groups = re.findall(r"\(\?P<(\w+)>", route)
    if groups or "^" in route:  # a regex route (re_path, the API's router): reversed by name
        return reverse(name, kwargs={group: REGEX_SAMPLE[group] for group in groups})
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE[m.group(1) or "str"], route)


URLS = sorted(set(_walk(get_resolver().url_patterns)))


def test_the_walk_found_the_apps_pages():
    names = {name for name, _ in URLS}
    assert {"partners:partnership_list", "suppliers:factory_list", "training:matrix"} <= names


@pytest.mark.parametrize(("name", "route"), URLS, ids=[name for name, _ in URLS])
def test_anonymous_visitor_is_sent_to_sign_in(name, route):
    if name in PUBLIC:
        pytest.skip("public on purpose")
    url = _concrete(name, route)
    if name.startswith("api:"):  # the API asks for a key instead
        for method in ("get", "post"):
            response = getattr(client_for(None), method)(url)
            assert response.status_code in (401, 405), (method, url, response.status_code)
        return
    for method in ("get", "post"):
        response = getattr(client_for(None), method)(url)
        assert response.status_code in (302, 405), (method, url, response.status_code)
        if response.status_code == 302:
            assert response.url.startswith("/accounts/login/"), (method, url, response.url)
