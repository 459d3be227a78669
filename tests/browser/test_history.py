"""The record of changes as a reader meets it: the factory corrects a participant in the
browser, and the funding brand reads who changed what on the enrolment page."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_partnership_journey import sign_in
from training.services import enrolment as services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_factory_corrects_a_participant_and_the_brand_reads_the_change(
    browser, live_server, world, brand_staff, factory_manager
):
    enrolment = world.enrolment
    services.confirm_enrolment(enrolment=enrolment, actor=factory_manager)
    services.name_participants(
        enrolment=enrolment,
        actor=factory_manager,
        participants=[{"name": "Ayşe Yılmaz", "role": "manager", "gender": "woman"}],
    )

    factory_page = browser.new_context(base_url=live_server.url).new_page()
    factory_page.set_default_timeout(15_000)
    sign_in(factory_page, factory_manager.email)
    factory_page.goto(enrolment.get_absolute_url())
    factory_page.get_by_text("Name the participants").click()
    factory_page.get_by_label("Participant 1 gender").select_option("other")
    factory_page.get_by_role("button", name="Save participants").click()
    expect(factory_page.get_by_text("Participants saved.")).to_be_visible()

    brand_page = browser.new_context(base_url=live_server.url).new_page()
    brand_page.set_default_timeout(15_000)
    sign_in(brand_page, brand_staff.email)
    brand_page.goto(enrolment.get_absolute_url())
    history = brand_page.get_by_test_id("change-history")
    change = history.locator("li", has_text="Participant · Ayşe Yılmaz").filter(has_text="changed")
    expect(change).to_contain_text(factory_manager.display_name)
    expect(change).to_contain_text("Gender: Woman → Other / prefers not to say")
