"""The whole module cycle in a browser, each person in their own session."""

import datetime

import pytest
from django.utils.formats import date_format
from playwright.sync_api import expect

from suppliers.services import link_supplier
from tests.browser.test_partnership_journey import sign_in
from tests.factories import FactoryFactory, held_classroom
from training.models import Cohort, Enrolment, Module
from training.services import certify_trainer, create_cohort

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _cohort_of_module_2(world, trainer):
    module_2 = Module.objects.get(code="M2")
    certify_trainer(trainer=trainer, module=module_2, certified_on=datetime.date(2024, 1, 15))
    return create_cohort(
        module=module_2,
        provider=world.cohort.provider,
        trainer=trainer,
        venue_city="Dhaka",
        venue_country="BD",
        language="en",
        classroom_start=datetime.date.today() + datetime.timedelta(days=40),
        classroom_end=datetime.date.today() + datetime.timedelta(days=41),
    )


def _cohort_label(cohort):
    start = cohort.classroom_start.isoformat()
    return f"Workplace Cooperation · Dongguan, CN · {start} · Provider P · 5 places left"


def test_enrol_confirm_deliver_complete(
    browser, live_server, world, brand, brand_staff, factory_manager, trainer
):
    second = FactoryFactory(name="宁波海天纺织有限公司")
    third = FactoryFactory(name="Çağlar Konfeksiyon", country="TR")
    link_supplier(brand=brand, factory=second, supplier_code="A-201")
    link_supplier(brand=brand, factory=third, supplier_code="A-202")
    # The world's enrolment of 东莞华美 is withdrawn so the brand enrols it again here.
    Enrolment.objects.filter(pk=world.enrolment.pk).update(
        status="withdrawn", withdrawal_reason="Re-enrolled in this journey"
    )

    def session(user):
        page = browser.new_context(base_url=live_server.url).new_page()
        page.set_default_timeout(15_000)
        sign_in(page, user.email)
        return page

    # Another module's cohort, which the enrol form must not offer for Module 1.
    _cohort_of_module_2(world, trainer)

    # 1. The brand enrols two factories into Module 1, in the trainer's cohort.
    brand_page = session(brand_staff)
    brand_page.get_by_role("link", name="Progress").click()
    brand_page.get_by_role("link", name="Enrol suppliers").click()
    brand_page.get_by_label(world.factory.name).check()
    brand_page.get_by_label("宁波海天纺织有限公司").check()
    # Choosing the module narrows the cohorts to that module's, in place.
    cohort_choice = brand_page.get_by_label("Cohort (optional)")
    expect(cohort_choice.locator("option")).to_have_count(1)  # "None yet"
    brand_page.get_by_label("Module").select_option(label="Workplace Cooperation")
    expect(cohort_choice.locator("option", has_text="Dongguan")).to_have_count(1)
    expect(cohort_choice.locator("option", has_text="Dhaka")).to_have_count(0)
    brand_page.get_by_label("Funded by").select_option(label="Brand A pilot")
    cohort_choice.select_option(label=_cohort_label(world.cohort))
    brand_page.get_by_role("button", name="Enrol").click()
    expect(brand_page.get_by_text("2 suppliers enrolled in Workplace Cooperation.")).to_be_visible()

    # 2. The factory manager confirms and names four participants.
    factory_page = session(factory_manager)
    factory_page.get_by_role("link", name="Workplace Cooperation").first.click()
    factory_page.get_by_role("button", name="Confirm the enrolment").click()
    expect(factory_page.get_by_text("Enrolment confirmed.")).to_be_visible()
    people = [
        ("王芳", "manager", "woman"),
        ("李强", "manager", "man"),
        ("张丽", "worker", "woman"),
        ("陈伟", "worker", "man"),
    ]
    for n, (name, role, gender) in enumerate(people, start=1):
        factory_page.get_by_label(f"Participant {n} name").fill(name)
        factory_page.get_by_label(f"Participant {n} role").select_option(role)
        factory_page.get_by_label(f"Participant {n} gender").select_option(gender)
    factory_page.get_by_role("button", name="Save participants").click()
    expect(factory_page.get_by_text("Participants saved.")).to_be_visible()
    factory_page.get_by_text("Add an action").click()
    factory_page.get_by_label("Action", exact=True).fill("Set up a suggestion box")
    factory_page.get_by_label("Owner").fill("Enterprise Improvement Team")
    factory_page.get_by_label("Due date").fill(datetime.date.today().isoformat())
    factory_page.get_by_role("button", name="Add to the plan").click()
    expect(factory_page.get_by_text("Action added to the improvement plan.")).to_be_visible()
    enrolment_url = factory_page.url

    # 3. Time passes: the classroom was held 40 days ago. The trainer records the baseline
    # visit before it, the classroom and three follow-ups after it, in date order.
    held_classroom(world.cohort)
    trainer_page = session(trainer)
    trainer_page.goto(enrolment_url)
    expect(trainer_page.get_by_test_id("progress-percent")).to_have_text("14%")  # the plan

    def record_visit(kind: str, days_ago: int) -> None:
        visited_on = datetime.date.today() - datetime.timedelta(days=days_ago)
        trainer_page.get_by_text("Record a visit").click()
        trainer_page.get_by_label("Visit", exact=True).select_option(kind)
        trainer_page.get_by_label("Date", exact=True).fill(visited_on.isoformat())
        trainer_page.get_by_label("Notes").fill("EIT met; plan reviewed.")
        trainer_page.get_by_role("button", name="Save the visit").click()
        expect(trainer_page.get_by_text("Visit recorded.")).to_be_visible()

    record_visit("baseline", 45)
    expect(trainer_page.get_by_test_id("progress-percent")).to_have_text("29%")
    # The classroom's two days (held 40 and 39 days ago), ticked in the cohort's register.
    cohort = Cohort.objects.get(pk=world.cohort.pk)
    trainer_page.get_by_role("link", name="Record attendance in the cohort's register").click()
    for day in (cohort.classroom_start, cohort.classroom_end):
        shown = date_format(day, "DATE_FORMAT")
        for name, _role, _gender in people[:3]:
            trainer_page.get_by_label(f"{name} present on {shown}").check()
    trainer_page.get_by_role("button", name="Save the register").click()
    expect(trainer_page.get_by_text("Attendance saved: 6 ticks.")).to_be_visible()
    trainer_page.goto(enrolment_url)
    expect(trainer_page.get_by_test_id("progress-percent")).to_have_text("43%")
    for days_ago in (30, 20, 10):
        record_visit("follow_up", days_ago)
    expect(trainer_page.get_by_test_id("progress-percent")).to_have_text("86%")

    # The factory manager's home shows the same progress.
    factory_page.goto("/")
    expect(factory_page.get_by_test_id("progress-percent").first).to_have_text("86%")

    # 4. The trainer completes the module.
    trainer_page.get_by_role("button", name="Mark completed").click()
    expect(trainer_page.get_by_text("Enrolment completed.")).to_be_visible()
    expect(trainer_page.get_by_test_id("progress-percent")).to_have_text("100%")
    completed = Enrolment.objects.get(factory=world.factory, status="completed")
    assert [e.to_status for e in completed.events.all()] == [
        "pending",
        "confirmed",
        "in_progress",
        "completed",
    ]
    brand_page.goto("/training/matrix/")
    expect(brand_page.get_by_role("link", name="Completed")).to_be_visible()
    for page in (brand_page, factory_page, trainer_page):
        page.context.close()


def test_choose_every_listed_supplier_at_once(browser, live_server, world, brand, brand_staff):
    for n in range(3):
        link_supplier(brand=brand, factory=FactoryFactory(name=f"Listed Factory {n}"))
    page = browser.new_context(base_url=live_server.url).new_page()
    page.set_default_timeout(15_000)
    sign_in(page, brand_staff.email)
    page.goto("/training/enrol/")
    boxes = page.locator("input[name=factories]")
    expect(boxes).to_have_count(4)
    every = page.get_by_label("Choose every supplier listed")
    every.check()
    for n in range(4):
        expect(boxes.nth(n)).to_be_checked()
    boxes.nth(2).uncheck()
    expect(every).not_to_be_checked()
    assert every.evaluate("box => box.indeterminate")
    boxes.nth(2).check()
    expect(every).to_be_checked()
    every.uncheck()
    for n in range(4):
        expect(boxes.nth(n)).not_to_be_checked()
