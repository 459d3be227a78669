"""The ILO admin and a brand's staff each open their results dashboard: the charts are drawn
(an <svg> in every chart box, under the strict CSP), each beside its data table, and
changing a filter changes a figure while the form keeps the value chosen."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from score_portal import demo
from tests.browser.test_partnership_journey import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_world(catalogue):
    return demo.load_demo_world(password=PASSWORD)


def _charts_drawn(page) -> int:
    charts = page.locator(".chart[data-chart]")
    count = charts.count()
    assert count >= 2
    for i in range(count):
        expect(charts.nth(i).locator("svg")).to_have_count(1)
    return count


def _figure(page, position: int) -> str:
    return page.locator(".figures dd").nth(position).inner_text()


def test_ilo_and_brand_read_their_dashboards(page, live_server, demo_world):
    # The ILO admin, from the home page.
    sign_in(page, demo.ILO_ADMIN_EMAIL)
    page.locator(f"main a[href='{reverse('reporting:programme')}']").click()
    expect(page.locator("h1")).to_have_text("Programme results")
    _charts_drawn(page)
    expect(page.locator("details.chart-data table").first).to_be_attached()
    expect(page.locator("#kpis ~ figure table, #kpis ~ p.empty").first).to_be_visible()
    reached = _figure(page, 0)
    assert int(reached.replace(",", "")) > 0
    # Only the factories in Türkiye: fewer reached, the choice kept in the form.
    page.locator("#id_country").select_option("TR")
    page.get_by_role("button", name="Show the figures").click()
    expect(page.locator("#id_country")).to_have_value("TR")
    assert _figure(page, 0) != reached
    # The figure links to the enrolments behind it, with the same filter.
    page.locator(".figures dd a").first.click()
    expect(page).to_have_url(re.compile(r"/training/enrolments/\?.*country=TR"))
    expect(page.locator("#id_country")).to_have_value("TR")
    page.context.clear_cookies()

    # A brand's staff member, from their home page.
    sign_in(page, demo.BRAND_EMAIL)
    page.locator(f"main a[href='{reverse('reporting:portfolio')}']").click()
    _charts_drawn(page)
    expect(page.locator("#coverage-data")).to_be_attached()
    expect(page.locator("#kpis")).to_be_visible()
    reached = _figure(page, 0)
    page.locator("#id_country").select_option("TR")
    page.locator(".dashboard-filters button[type=submit]").click()
    expect(page.locator("#id_country")).to_have_value("TR")
    assert _figure(page, 0) != reached
    assert page.problems == []
