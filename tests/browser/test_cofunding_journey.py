"""Co-funding in a browser: brand B tries to enrol a factory brand A already funds, is
offered to co-fund instead, proposes; A's staff agree from their notice; both see the
enrolment and their share on the ledger."""

import pytest
from playwright.sync_api import expect

from suppliers.services import link_supplier
from tests.browser.test_partnership_journey import sign_in
from training.models import CoFunding

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_second_brand_cofunds_a_shared_factory(
    browser, live_server, world, other_brand, brand_staff, other_brand_staff
):
    link_supplier(brand=other_brand, factory=world.factory, supplier_code="B-777")

    def session(user):
        page = browser.new_context(base_url=live_server.url).new_page()
        page.set_default_timeout(15_000)
        sign_in(page, user.email)
        return page

    # 1. Brand B tries to enrol the factory: instead of a refusal, the offer to co-fund.
    b = session(other_brand_staff)
    b.get_by_role("link", name="Progress").click()
    b.get_by_role("link", name="Enrol suppliers").click()
    b.get_by_label(world.factory.name).check()
    b.get_by_label("Module").select_option(label="Workplace Cooperation")
    b.get_by_label("Funded by").select_option(label="Brand B programme")
    b.get_by_role("button", name="Enrol").click()
    expect(
        b.get_by_text("Brand A already funds this enrolment: you may co-fund it.")
    ).to_be_visible()
    b.get_by_role("link", name="Co-fund this enrolment").click()
    expect(b.get_by_role("heading", name="Co-fund this enrolment")).to_be_visible()
    b.get_by_label("Co-funded by").select_option(label="Brand B programme")
    expect(b.get_by_label("Your share (%)")).to_have_value("50")
    b.get_by_label("Note to the lead funder (optional)").fill("Half each, as agreed by phone.")
    b.get_by_role("button", name="Propose co-funding").click()
    expect(b.get_by_text("Your offer is sent to Brand A")).to_be_visible()
    expect(b.get_by_test_id("cofunding-status")).to_have_text("Proposed")
    proposal = CoFunding.objects.get()

    # 2. Brand A's staff member opens the notice and agrees.
    a = session(brand_staff)
    a.locator("header").get_by_role("link", name="1 unread notice", exact=True).click()
    a.get_by_role("link", name=f"Brand B offers to co-fund {world.factory.name}").click()
    expect(a.get_by_text("Half each, as agreed by phone.")).to_be_visible()
    a.get_by_role("button", name="Agree to co-funding").click()
    expect(a.get_by_text("Co-funding agreed: the shares are in force.")).to_be_visible()
    expect(a.get_by_test_id("lead-share")).to_have_text("50%")
    proposal.refresh_from_db()
    assert proposal.status == CoFunding.Status.AGREED

    # 3. Both see the enrolment with their shares, and their ledgers count half a place.
    a.goto(world.enrolment.get_absolute_url())
    expect(a.get_by_test_id("share-lead")).to_have_text("50%")
    expect(a.get_by_test_id("share-cofunder")).to_have_text("50%")
    a.goto(f"/partners/partnerships/{world.partnership.pk}/")
    expect(a.get_by_test_id("ledger-funded")).to_have_text("0.50 / 10")

    b.goto("/training/enrolments/")
    row = b.locator("tr", has_text=world.factory.name)
    row.get_by_role("link", name="Workplace Cooperation").click()
    expect(b.get_by_test_id("share-cofunder")).to_have_text("50%")
    b.goto(f"/partners/partnerships/{world.other_partnership.pk}/")
    # Its own enrolment of another factory, and half of this one.
    expect(b.get_by_test_id("ledger-funded")).to_have_text("1.50 / 10")
