"""A brand's administrator subscribes their system to webhooks from the people page, keeps
the secret shown once, sends a test event and sees it delivered in the log (the receiver is
a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.webhooks.conftest import brand_admin, receiver  # noqa: F401 (fixtures)
from webhooks import signing
from webhooks.models import Subscription

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_brand_admin_subscribes_and_sends_a_test_event(
    live_server,
    page,
    brand,
    brand_admin,  # noqa: F811
    receiver,  # noqa: F811
    settings,
):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    sign_in(page, live_server, brand_admin)
    page.goto("/")
    page.locator(".account-menu summary").click()
    page.get_by_role("link", name="Organisations and people").click()
    page.get_by_role("link", name="Webhooks: events for your own systems").click()
    expect(page.get_by_role("heading", name="Webhooks of Brand A")).to_be_visible()

    # No event chosen: refused, and what was typed stays.
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("Our ERP")
    page.get_by_role("button", name="Add subscription").click()
    expect(page.get_by_text("Choose at least one event.").first).to_be_visible()
    expect(page.get_by_label("URL")).to_have_value(receiver.url)
    expect(page.get_by_label("Description")).to_have_value("Our ERP")

    page.get_by_label("Enrolment created").check()
    page.get_by_label("Certificate issued").check()
    page.get_by_role("button", name="Add subscription").click()
    expect(page.get_by_text("The subscription was added.")).to_be_visible()
    subscription = Subscription.objects.get()
    expect(page.locator("#webhook-secret")).to_have_text(subscription.secret)

    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_text("A test event was queued")).to_be_visible()
    row = page.locator("tr", has_text="webhook.test")
    expect(row).to_contain_text("Delivered")
    expect(row).to_contain_text("200")
    # The secret was shown once only.
    expect(page.locator("#webhook-secret")).to_have_count(0)
    [request] = receiver.received
    assert signing.verify(
        subscription.secret,
        request.headers["X-Score-Signature"],
        request.body,
        now=int(request.headers["X-Score-Signature"].split(",")[0][2:]),
    )
    # The refused form answered 400 on purpose; nothing else went wrong (CSP, scripts).
    assert [p for p in page.problems if "status of 400" not in p] == []
