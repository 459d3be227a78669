"""A factory manager's inbox: a brand's enrolments show with their unread count in the header;
marking one read (in place) and opening the other (its enrolment's page) bring the count down."""

import re

import pytest
from playwright.sync_api import expect

from suppliers.services import add_factory_manager, link_supplier
from tests.browser.test_partnership_journey import sign_in
from tests.factories import FactoryFactory
from training.services import enrol_factory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_notice_shows_in_the_inbox_and_reading_it_lowers_the_count(
    page, world, brand, brand_staff, factory_manager
):
    # The brand enrols two more factories the manager runs: two notices (and two emails).
    enrolments = []
    for name in ("宁波海天纺织有限公司", "Çağlar Konfeksiyon"):
        factory = FactoryFactory(name=name)
        add_factory_manager(factory=factory, user=factory_manager)
        link_supplier(brand=brand, factory=factory, supplier_code=f"A-{factory.pk}")
        enrolments.append(
            enrol_factory(
                factory=factory,
                module=world.enrolment.module,
                partnership=world.partnership,
                enrolled_by=brand_staff,
                cohort=world.cohort,
            )
        )

    sign_in(page, factory_manager.email)
    header = page.locator(".site-header")
    header.get_by_role("link", name="2 unread notices", exact=True).click()
    expect(page.get_by_role("heading", name="Notices")).to_be_visible()
    notices = page.locator(".notice-list")
    first = "Unread: 宁波海天纺织有限公司 is enrolled in SCORE Workplace Cooperation"
    second = "Unread: Çağlar Konfeksiyon is enrolled in SCORE Workplace Cooperation"
    expect(notices.get_by_role("link", name=second)).to_be_visible()

    # "Mark read" on one: the row and the header's count change in place (htmx).
    row = page.locator(".notice", has=page.get_by_role("link", name=second))
    row_id = row.get_attribute("id")
    row.get_by_role("button", name="Mark read").click()
    expect(header.get_by_role("link", name="1 unread notice", exact=True)).to_be_visible()
    row = page.locator(f"#{row_id}")
    expect(row.get_by_role("button", name="Mark unread")).to_be_visible()
    expect(
        row.get_by_role("link", name=second.removeprefix("Unread: "), exact=True)
    ).to_be_visible()

    # Opening the other marks it read and follows its link, to the enrolment's page.
    notices.get_by_role("link", name=first).click()
    expect(page).to_have_url(re.compile(re.escape(enrolments[0].get_absolute_url()) + "$"))
    expect(header.get_by_role("link", name="Notices, none unread", exact=True)).to_be_visible()
    assert page.problems == []
