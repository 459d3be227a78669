"""Brand staff open their partnership, ask for its results report as PDF (small: it
downloads at once) and as XLSX (made large by the setting: the worker generates it, the
Reports page lists it), and download both."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_partnership_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_brand_staff_download_their_partnerships_report_as_pdf_and_xlsx(
    browser, live_server, world, brand_staff, settings, tmp_path
):
    from openpyxl import load_workbook

    page = browser.new_context(base_url=live_server.url, accept_downloads=True).new_page()
    page.set_default_timeout(15_000)
    sign_in(page, brand_staff.email)
    page.goto(world.partnership.get_absolute_url())
    start = (datetime.date.today() - datetime.timedelta(days=30)).isoformat()
    box = page.get_by_role("region", name="Results report")
    box.get_by_label("From").fill(start)
    box.get_by_label("PDF").check()
    with page.expect_download() as download_info:
        box.get_by_role("button", name="Get the report").click()
    pdf = download_info.value
    assert pdf.suggested_filename.endswith(".pdf")
    path = tmp_path / pdf.suggested_filename
    pdf.save_as(path)
    assert path.read_bytes()[:5] == b"%PDF-"

    # A large report (more enrolments than the setting allows) goes to the worker.
    settings.RESULTS_REPORT_INLINE_ENROLMENTS = 0
    page.goto(world.partnership.get_absolute_url())
    box.get_by_label("From").fill(start)
    box.get_by_label("Excel (XLSX)").check()
    box.get_by_role("button", name="Get the report").click()
    expect(page).to_have_url(f"{live_server.url}/results/reports/")
    expect(page.get_by_role("alert").or_(page.locator(".message"))).to_contain_text(
        "being generated"
    )
    page.reload()
    link = page.get_by_role("link", name="Download")
    expect(link).to_be_visible()
    with page.expect_download() as download_info:
        link.click()
    xlsx = download_info.value
    assert xlsx.suggested_filename.endswith(".xlsx")
    path = tmp_path / xlsx.suggested_filename
    xlsx.save_as(path)
    book = load_workbook(io.BytesIO(path.read_bytes()))
    summary = {row[0]: row[1] for row in book["Partnership"].iter_rows(values_only=True)}
    assert summary["Partnership"] == "Brand A pilot"
    assert summary["Enrolments in the period"] == 1


def test_brand_staff_read_their_partnerships_report_on_a_page(
    browser, live_server, world, brand_staff
):
    page = browser.new_context(base_url=live_server.url).new_page()
    page.set_default_timeout(15_000)
    sign_in(page, brand_staff.email)
    page.goto(world.partnership.get_absolute_url())
    box = page.get_by_role("region", name="Results report")
    box.get_by_role("link", name="See the figures on a page").click()
    expect(page).to_have_url(
        f"{live_server.url}/results/partnerships/{world.partnership.pk}/report/preview/"
    )
    expect(page.locator(".figures-as-of")).to_contain_text("refreshed every 10 minutes")
    expect(page.get_by_role("heading", name="The period in figures")).to_be_visible()
    # Another period: the form keeps it and the page covers it.
    start = (datetime.date.today() - datetime.timedelta(days=400)).isoformat()
    page.get_by_label("From").fill(start)
    page.get_by_role("button", name="Show the figures").click()
    expect(page).to_have_url(re.compile(rf".*/report/preview/\?period_start={start}&period_end="))
    expect(page.get_by_label("From")).to_have_value(start)
    expect(page.get_by_role("heading", name="Progress per factory")).to_be_visible()
