"""A factory manager records a KPI reading, is refused an impossible value without losing
what was typed, then corrects a reading with a reason and sees the change in its history."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.test_partnership_journey import sign_in
from training.models import Cohort, Enrolment, KPIDefinition, KPIReading
from training.services import enrolment as enrolment_services
from training.services import kpis as kpi_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_factory_records_is_refused_then_corrects_a_reading(page, world, factory_manager, trainer):
    today = datetime.date.today()
    enrolment_services.confirm_enrolment(enrolment=world.enrolment, actor=factory_manager)
    Cohort.objects.filter(pk=world.cohort.pk).update(
        classroom_start=today - datetime.timedelta(days=20),
        classroom_end=today - datetime.timedelta(days=19),
    )
    Enrolment.objects.filter(pk=world.enrolment.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    absenteeism = KPIDefinition.objects.get(code="absenteeism")
    kpi_services.record_kpi_reading(
        enrolment=Enrolment.objects.get(pk=world.enrolment.pk),
        actor=trainer,
        kpi=absenteeism,
        kind="baseline",
        value="68",
        measured_on=today - datetime.timedelta(days=25),
    )

    sign_in(page, factory_manager.email)
    page.goto(world.enrolment.get_absolute_url())

    # An impossible follow-up: refused beside its field, with what was typed kept.
    page.get_by_text("Record a KPI reading").click()
    form = page.locator("#record-kpi")
    expect(form.get_by_text("Absenteeism: 0 to 100 %")).to_be_visible()
    form.get_by_label("KPI").select_option(label="Absenteeism (%)")
    form.get_by_label("Reading").select_option(label="Follow-up")
    form.get_by_label("Value").fill("150")
    form.get_by_label("Measured on").fill((today - datetime.timedelta(days=2)).isoformat())
    form.get_by_role("button", name="Save the reading").click()
    form = page.locator("#record-kpi")
    expect(form.locator("#id_kpi-value_error")).to_contain_text("outside that range")
    expect(form.get_by_label("Value")).to_have_value("150")
    form.get_by_label("Value").fill("5.5")
    form.get_by_role("button", name="Save the reading").click()
    expect(page.get_by_text("KPI reading recorded.")).to_be_visible()

    # The baseline was typed as 68 instead of 6.8: correct it, saying why.
    page.get_by_role("link", name="Correct or delete Absenteeism").first.click()
    expect(page.get_by_role("heading", name="Correct a KPI reading")).to_be_visible()
    page.get_by_label("Value").fill("6.8")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.locator("#id_correct-reason_error")).to_be_visible()  # a reason is required
    expect(page.get_by_label("Value")).to_have_value("6.8")
    page.get_by_label("Reason for the correction").fill("Decimal point missed at intake")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.get_by_text("KPI reading corrected.")).to_be_visible()

    history = page.locator(".kpi-history")
    expect(history).to_contain_text("corrected")
    expect(history).to_contain_text("68 → 6.8")
    expect(history).to_contain_text("Decimal point missed at intake")
    assert KPIReading.objects.get(kind="baseline").value == Decimal("6.8")
    # No CSP violation or script error; the refused forms' own 400s are expected.
    assert [p for p in page.problems if "status of 400" not in p] == []
