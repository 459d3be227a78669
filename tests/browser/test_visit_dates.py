"""The trainer records a visit dated before the classroom: the date is refused beside its
field, naming the classroom's last day, and what was typed stays; the dated visit follows."""

from __future__ import annotations

import datetime

import pytest
from playwright.sync_api import expect

from tests.browser.test_partnership_journey import sign_in
from training.chronology import day
from training.services import enrolment as services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visit_before_the_classroom_is_refused_beside_its_date(
    browser, live_server, world, factory_manager, trainer
):
    enrolment = world.enrolment
    today = datetime.date.today()
    services.confirm_enrolment(enrolment=enrolment, actor=factory_manager)
    services.record_visit(enrolment=enrolment, actor=trainer, kind="baseline", visited_on=today)
    page = browser.new_context(base_url=live_server.url).new_page()
    page.set_default_timeout(15_000)
    sign_in(page, trainer.email)
    page.goto(enrolment.get_absolute_url())

    page.get_by_text("Record a visit").click()
    page.get_by_label("Visit", exact=True).select_option("follow_up")
    page.get_by_label("Date", exact=True).fill(today.isoformat())
    page.get_by_label("Notes").fill("Plan reviewed with the EIT.")
    page.get_by_role("button", name="Save the visit").click()

    error = page.locator("#id_visit-visited_on_error")
    expect(error).to_contain_text("Follow-up visits come after the classroom")
    expect(error).to_contain_text(day(world.cohort.classroom_end))
    expect(page.get_by_label("Date", exact=True)).to_have_value(today.isoformat())
    expect(page.get_by_label("Notes")).to_have_value("Plan reviewed with the EIT.")
    assert enrolment.visits.count() == 1
    page.context.close()
