"""The provider's coordinator places a waiting enrolment from the queue; the trainer keeps the
cohort's attendance register."""

from __future__ import annotations

import datetime

import pytest
from django.utils.formats import date_format
from playwright.sync_api import expect

from suppliers.services import link_supplier
from tests.browser.test_partnership_journey import sign_in
from tests.factories import FactoryFactory
from training.models import Attendance, Cohort, Enrolment
from training.services import enrol_factory
from training.services import enrolment as services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _session(browser, live_server, user):
    page = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    page.set_default_timeout(15_000)
    sign_in(page, user.email)
    return page


def test_coordinator_places_a_waiting_enrolment_from_the_queue(
    browser, live_server, world, brand, brand_staff, provider_staff, module_1
):
    factory = FactoryFactory(name="宁波海天纺织有限公司")
    link_supplier(brand=brand, factory=factory, supplier_code="A-900")
    waiting = enrol_factory(
        factory=factory, module=module_1, partnership=world.partnership, enrolled_by=brand_staff
    )
    page = _session(browser, live_server, provider_staff)
    # The home page shows the queue.
    queue = page.get_by_role("region", name="Waiting for a cohort")
    expect(queue.get_by_role("link", name="宁波海天纺织有限公司")).to_be_visible()
    page.get_by_role("link", name="Place enterprises in cohorts").click()
    page.get_by_label("宁波海天纺织有限公司").check()
    page.get_by_label("Cohort", exact=True).select_option(index=1)
    page.get_by_role("button", name="Place in the cohort").click()
    expect(page.get_by_text("1 enterprise placed in")).to_be_visible()
    expect(page.get_by_text("No enrolment is waiting for a cohort.")).to_be_visible()
    waiting.refresh_from_db()
    assert waiting.cohort_id == world.cohort.pk
    # The brand sees how long it waited.
    brand_page = _session(browser, live_server, brand_staff)
    brand_page.goto(waiting.get_absolute_url())
    expect(brand_page.get_by_text("placed after 0 days")).to_be_visible()
    for p in (page, brand_page):
        p.context.close()


def test_trainer_ticks_the_days_and_saves_the_register(
    browser, live_server, world, trainer, factory_manager
):
    four_participants = [
        {"name": "王芳", "position": "", "role": "manager", "gender": "woman"},
        {"name": "李强", "position": "", "role": "manager", "gender": "man"},
        {"name": "张丽", "position": "", "role": "worker", "gender": "woman"},
        {"name": "陈伟", "position": "", "role": "worker", "gender": "man"},
    ]
    today = datetime.date.today()
    Cohort.objects.filter(pk=world.cohort.pk).update(
        classroom_start=today - datetime.timedelta(days=1),
        classroom_end=today + datetime.timedelta(days=1),
    )
    services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    services.name_participants(
        enrolment=world.enrolment, actor=factory_manager, participants=four_participants
    )
    page = _session(browser, live_server, trainer)
    page.goto(world.cohort.get_absolute_url())
    page.get_by_role("link", name="Attendance register").click()
    yesterday = date_format(today - datetime.timedelta(days=1), "DATE_FORMAT")
    tomorrow = date_format(today + datetime.timedelta(days=1), "DATE_FORMAT")
    for name in ("王芳", "李强", "张丽"):
        page.get_by_label(f"{name} present on {yesterday}").check()
    today_label = date_format(today, "DATE_FORMAT")
    page.get_by_label(f"王芳 present on {today_label}").check()
    # A day ahead cannot be ticked.
    expect(page.get_by_label(f"王芳 present on {tomorrow}")).to_be_disabled()
    page.get_by_role("button", name="Save the register").click()
    expect(page.get_by_text("Attendance saved: 4 ticks.")).to_be_visible()
    expect(page.get_by_label(f"李强 present on {yesterday}")).to_be_checked()
    assert Attendance.objects.count() == 4
    assert Enrolment.objects.get(pk=world.enrolment.pk).status == "in_progress"
    page.context.close()
