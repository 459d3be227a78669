"""The issue's check, in the browser: the ILO admin creates a brand and invites its admin;
that admin signs up from the emailed link and invites a colleague as viewer, who signs up,
sees the brand's supplier list and cannot act."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from partners.models import Membership, Partner
from suppliers.services import link_supplier
from tests.browser.conftest import sign_in
from tests.factories import FactoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-long-new-passphrase-2026"


def _link_in_last_email(to: str, pattern: str) -> str:
    message = next(m for m in reversed(mail.outbox) if m.to == [to])
    match = re.search(pattern, message.body)
    assert match, message.body
    return match.group(0)


def _sign_up_from_invitation(browser, live_server, email: str):
    """Open the invitation link, sign up, verify the address, come back and join."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    accept = _link_in_last_email(email, r"https?://\S+/partners/invitations/[\w-]+/")
    page.goto(urlsplit(accept).path)
    # Not signed in: the sign-in page, with a way to sign up that comes back here.
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    confirm = _link_in_last_email(email, r"https?://\S+/accounts/confirm-email/\S+/")
    page.goto(urlsplit(confirm).path)
    page.get_by_role("button", name="Confirm").click()
    # Back on the invitation: one button joins.
    page.get_by_role("button", name=re.compile("^Join ")).click()
    expect(page.get_by_text("Welcome to Nova Apparel")).to_be_visible()
    return page


def test_ilo_onboards_a_brand_whose_admin_invites_a_viewer(browser, live_server, page, ilo_admin):
    sign_in(page, live_server, ilo_admin)
    page.goto("/")
    page.locator(".account-menu summary").click()
    page.get_by_role("link", name="Organisations and people").click()
    page.get_by_role("link", name="New organisation").click()
    page.get_by_label("Name", exact=True).fill("Nova Apparel")
    page.get_by_label("Kind").select_option("brand")
    page.get_by_label("Email of its first administrator").fill("boss@nova.example.org")
    page.get_by_role("button", name="Create and invite").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People of Nova Apparel")
    expect(page.get_by_role("cell", name="boss@nova.example.org", exact=True)).to_be_visible()
    assert page.problems == []

    brand = Partner.objects.get(name="Nova Apparel")
    factory = FactoryFactory(name="Nova Supplier Mill 12")
    link_supplier(brand=brand, factory=factory, supplier_code="NV-12")

    # The brand's admin signs up from the emailed link and manages their people.
    admin_page = _sign_up_from_invitation(browser, live_server, "boss@nova.example.org")
    assert Membership.objects.get(user__email="boss@nova.example.org").role == "admin"
    admin_page.locator(".account-menu summary").click()
    admin_page.get_by_role("link", name="Organisations and people").click()
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("People of Nova Apparel")
    admin_page.get_by_label("Email address").fill("reader@nova.example.org")
    admin_page.get_by_label("Role", exact=True).select_option("viewer")
    admin_page.get_by_role("button", name="Send invitation").click()
    expect(
        admin_page.get_by_text("An invitation was sent to reader@nova.example.org.")
    ).to_be_visible()
    expect(
        admin_page.get_by_role("cell", name="reader@nova.example.org", exact=True)
    ).to_be_visible()
    # The last administrator cannot step down.
    admin_page.get_by_label("Role of boss@nova.example.org").select_option("viewer")
    admin_page.get_by_role("button", name="Change role").click()
    expect(admin_page.get_by_text("must keep at least one administrator")).to_be_visible()

    # The viewer signs up, sees the brand's supplier list and cannot act.
    viewer_page = _sign_up_from_invitation(browser, live_server, "reader@nova.example.org")
    assert Membership.objects.get(user__email="reader@nova.example.org").role == "viewer"
    viewer_page.get_by_role("navigation").get_by_role("link", name="Suppliers").click()
    expect(viewer_page.get_by_role("link", name="Nova Supplier Mill 12")).to_be_visible()
    expect(viewer_page.get_by_role("link", name="Enrol suppliers")).to_have_count(0)
    viewer_page.get_by_role("navigation").get_by_role("link", name="Imports").click()
    expect(viewer_page.get_by_role("link", name=re.compile("Upload|Import a"))).to_have_count(0)
    # Asking anyway is refused, with the page's own CSRF token.
    csrf = next(c["value"] for c in viewer_page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": csrf, "Referer": live_server.url + "/"}
    for url in ("/suppliers/imports/new/", "/training/enrol/"):
        response = viewer_page.request.post(live_server.url + url, headers=headers, form={})
        assert response.status in (403, 404), (url, response.status)
    people = viewer_page.request.get(
        live_server.url + f"/partners/organisations/{brand.pk}/people/"
    )
    assert people.status == 404
    assert (
        not Membership.objects.filter(partner=brand)
        .exclude(user__email__in=["boss@nova.example.org", "reader@nova.example.org"])
        .exists()
    )
