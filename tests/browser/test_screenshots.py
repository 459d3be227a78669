"""The main page of each persona at 1280 px and 375 px, saved to var/screenshots/ to be
looked at (the closing note of the change that altered the look says what was seen), and
checked for what a screenshot shows at a glance: nothing wider than the screen, a header on
one row at 1280 px, every image loaded, no text clipped out of its box."""

from __future__ import annotations

from pathlib import Path

import pytest

from score_portal import demo
from score_portal.models import User
from tests.browser.test_accessibility import PERSONAS, _signed_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def demo_world(catalogue):
    return demo.load_demo_world(password=PASSWORD)


@pytest.mark.parametrize("email", PERSONAS, ids=lambda e: e or "anonymous")
def test_main_page_at_desktop_and_phone_width(browser, live_server, demo_world, email):
    user = User.objects.get(email=email) if email else None
    context = _signed_in(browser, live_server, user)
    page = context.new_page()
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = (email or "anonymous").split("@")[0] + "-" + (email or "").split("@")[-1].split(".")[0]
    try:
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto("/")
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            broken = page.evaluate(
                "[...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                ".map(i => i.src)"
            )
            assert broken == []
            if width == 1280:
                assert page.evaluate("document.querySelector('.site-header').offsetHeight") <= 64
    finally:
        context.close()
