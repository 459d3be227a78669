"""Every page type, as every persona: no serious or critical axe-core finding (WCAG 2.0–2.2 A
and AA), and nothing wider than a 320 px screen (WCAG 1.4.10 Reflow).

The pages are found, not listed: each persona (the demo world's accounts, and an anonymous
visitor) starts at home and follows the links it is shown, breadth first, visiting each page
type (URL pattern) once. A new page reached from the menu is covered the day it is added.
axe-core is vendored in tests/browser/vendor/axe-core (from its npm package) and injected as
an init script, so the page's own CSP stays strict.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, resolve

from score_portal import demo
from score_portal.models import User
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
NOT_PAGES = ("/static/", "/admin/", "/accounts/logout/", "/i18n/")
PAGE_TYPES_PER_PERSONA = 40
# What makes a page too wide (outside the boxes that scroll on their own), for the message.
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 321
    && !(e.parentElement && e.parentElement.closest('.table-scroll')))
  .slice(0, 4)
  .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""


@pytest.fixture
def demo_world(catalogue):
    return demo.load_demo_world(password=PASSWORD)


def _signed_in(browser, live_server, user: User | None):
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    context.add_init_script(path=str(AXE))
    return context


def _page_type(path: str) -> str | None:
    if path.startswith(NOT_PAGES):
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


def _crawl(context, live_server, seen: set[str] | None = None) -> dict[str, list[str]]:
    """Visit each page type the persona can reach once; return its findings per page
    (``seen``, when given, receives the page types visited)."""
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    origin = urlsplit(live_server.url).netloc
    seen = set() if seen is None else seen
    queue = deque(["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
    findings: dict[str, list[str]] = {}
    while queue and len(seen) < PAGE_TYPES_PER_PERSONA:
        path = queue.popleft()
        kind = _page_type(path)
        if kind is None or kind in seen:
            continue
        # Downloads (CSV, XLSX, PDF, ZIP) are not pages.
        head = context.request.get(path, max_redirects=0)
        if head.status != 200 or not head.headers.get("content-type", "").startswith("text/html"):
            continue
        seen.add(kind)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(path)
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})",
            AXE_TAGS,
        )
        found = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        # The header keeps to one row on a 1280 px screen (the menu does not wrap).
        header = page.evaluate("document.querySelector('.site-header').offsetHeight")
        if header > 64:
            found.append(f"header: {header} px high at 1280 px (wraps)")
        page.set_viewport_size({"width": 320, "height": 640})
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            wide = page.evaluate(WIDEST)
            found.append(f"reflow: the page is {width} px wide at 320 px: {wide}")
        if found:
            findings[f"{kind} {path}"] = found
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            parts = urlsplit(href)
            if parts.netloc == origin and parts.scheme.startswith("http"):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    page.close()
    assert problems == [], problems
    assert len(seen) >= 3, f"the crawl found too few pages: {sorted(seen)}"
    return findings


# Pages each persona must reach (from the menu) and pass: the crawl's budget of page types
# must not run out before them.
MUST_VISIT = {
    demo.ILO_ADMIN_EMAIL: {"reporting:programme"},
    demo.BRAND_EMAIL: {"reporting:portfolio"},
    demo.ETI_EMAIL: {"reporting:portfolio"},
}

PERSONAS = [
    None,
    demo.ILO_ADMIN_EMAIL,
    demo.BRAND_EMAIL,
    demo.ETI_EMAIL,
    demo.COORDINATOR_EMAIL,
    demo.TRAINER_EMAIL,
    demo.HUAMEI_MANAGER_EMAIL,
    demo.OZDEMIR_MANAGER_EMAIL,
]


@pytest.mark.parametrize("email", PERSONAS, ids=lambda e: e or "anonymous")
def test_every_page_type_passes_axe_and_reflows(browser, live_server, demo_world, email):
    user = User.objects.get(email=email) if email else None
    context = _signed_in(browser, live_server, user)
    seen: set[str] = set()
    try:
        findings = _crawl(context, live_server, seen)
    finally:
        context.close()
    assert MUST_VISIT.get(email, set()) <= seen, sorted(seen)
    assert findings == {}, "\n".join(
        f"{page}:\n  " + "\n  ".join(items) for page, items in findings.items()
    )
