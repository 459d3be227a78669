"""The API's journey in the browser: a brand's admin opens the API keys page from the
people page, creates a key (shown once), a system uses it, the admin revokes it; the API's
documentation page renders under the strict CSP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from api.models import OrganisationAPIKey
from partners.models import Membership
from partners.services import add_member
from tests.api.conftest import key_client
from tests.browser.conftest import sign_in
from tests.factories import PartnerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_uses_and_revokes_a_key(live_server, page):
    brand = PartnerFactory(name="Nova Apparel", kind="brand")
    admin = UserFactory(email="admin@nova.example.org")
    add_member(partner=brand, user=admin, role=Membership.Role.ADMIN)
    sign_in(page, live_server, admin)
    page.goto(f"/partners/organisations/{brand.pk}/people/")
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys of Nova Apparel")).to_be_visible()

    page.get_by_label("Name").fill("ERP supplier sync")
    page.get_by_label("Acting (reads and writes)").check()
    page.get_by_role("button", name="Create the key").click()
    secret = page.get_by_test_id("api-key-secret").input_value()
    assert re.fullmatch(r"[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}", secret)
    expect(page.get_by_text("Copy it now: it is shown only once")).to_be_visible()
    stored = OrganisationAPIKey.objects.get(name="ERP supplier sync")
    assert stored.access == "acting" and secret not in stored.hashed_key

    # The system calls the API with it; the page then shows its last use.
    assert key_client(secret).get("/api/v1/suppliers/").status_code == 200
    page.reload()
    expect(page.get_by_test_id("api-key-secret")).to_have_count(0)  # shown once only
    row = page.get_by_role("row", name=re.compile("ERP supplier sync"))
    expect(row).not_to_contain_text("Never")

    row.get_by_role("button", name="Revoke the key ERP supplier sync").click()
    expect(page.get_by_text("is revoked: requests made with it are refused")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("ERP supplier sync"))).to_contain_text("Revoked")
    assert key_client(secret).get("/api/v1/suppliers/").status_code == 401
    assert page.problems == []


def test_the_documentation_page_renders_under_the_csp(live_server, page):
    page.goto("/api/v1/docs/")
    expect(page.get_by_text("SCORE Portal API").first).to_be_visible()
    expect(page.locator(".opblock-tag", has_text="enrolments").first).to_be_visible()
    assert page.problems == [], page.problems
