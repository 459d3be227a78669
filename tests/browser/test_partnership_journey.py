import datetime

import pytest
from django.core import mail
from playwright.sync_api import expect

from partners.models import Partnership
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator(".account-menu summary")).to_be_visible()


def test_brand_applies_ilo_approves_brand_sees_timeline_and_ledger(
    browser, live_server, brand, brand_staff, ilo_admin, module_1
):
    brand_page = browser.new_context(base_url=live_server.url).new_page()
    sign_in(brand_page, brand_staff.email)
    brand_page.get_by_role("link", name="Partnerships").click()
    brand_page.get_by_role("link", name="Apply for a partnership").click()

    brand_page.get_by_label("Kind").select_option("ppp")
    brand_page.get_by_label("Title").fill("Brand A suppliers in Türkiye")
    # Countries: a searchable list (Tom Select): type, choose, again.
    countries = brand_page.get_by_role("combobox", name="Countries")
    for typed, country in (("Türk", "Türkiye"), ("Chin", "China")):
        countries.fill(typed)
        dropdown = brand_page.locator("#id_countries-ts-dropdown")
        dropdown.get_by_role("option", name=country).click()
    countries.press("Escape")
    expect(brand_page.locator("#id_countries")).to_have_values(["TR", "CN"])
    brand_page.get_by_label("Workplace Cooperation").check()
    brand_page.get_by_label("Factories to fund").fill("8")
    brand_page.get_by_label("Budget").fill("64000")
    brand_page.get_by_label("Currency").select_option("EUR")
    brand_page.get_by_label("Partner's share of the cost (%)").fill("75")
    today = datetime.date.today()
    brand_page.get_by_label("Start date").fill(today.isoformat())
    brand_page.get_by_label("End date").fill((today + datetime.timedelta(days=365)).isoformat())
    brand_page.get_by_label("Contact email").fill("sourcing@brand-a.example.org")
    brand_page.get_by_role("button", name="Save draft").click()
    expect(brand_page.get_by_text("Draft saved.")).to_be_visible()
    brand_page.get_by_role("link", name="Edit application").click()
    brand_page.get_by_role("button", name="Submit for review").click()
    expect(brand_page.get_by_text("Application submitted")).to_be_visible()

    ilo_page = browser.new_context(base_url=live_server.url).new_page()
    sign_in(ilo_page, ilo_admin.email)
    expect(ilo_page.get_by_role("heading", name="Applications awaiting review")).to_be_visible()
    ilo_page.get_by_role("link", name="Brand A suppliers in Türkiye").click()
    ilo_page.get_by_label("Note").fill("Approved for the 2027 season.")
    ilo_page.get_by_role("button", name="Approve").click()
    expect(
        ilo_page.get_by_text("The partnership “Brand A suppliers in Türkiye” was approved.")
    ).to_be_visible()

    brand_page.reload()
    expect(brand_page.locator(".badge").first).to_have_text("Approved")
    timeline = brand_page.locator(".timeline")
    expect(timeline).to_contain_text("Submitted → Approved")
    expect(timeline).to_contain_text("Approved for the 2027 season.")
    expect(brand_page.get_by_test_id("ledger-funded")).to_have_text("0 / 8")
    expect(brand_page.get_by_test_id("ledger-places-left")).to_have_text("8")
    expect(brand_page.get_by_test_id("ledger-budget-left")).to_contain_text("64")

    assert Partnership.objects.get().status == "approved"
    approvals = [m for m in mail.outbox if m.to == [brand_staff.email]]
    assert len(approvals) == 1
    assert "Approved" in approvals[0].subject
    assert "Approved for the 2027 season." in approvals[0].body
    brand_page.context.close()
    ilo_page.context.close()
