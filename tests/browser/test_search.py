import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OS_ID = "CN2019067X1K87E"


def search_from_the_header(page, text):
    box = page.get_by_role("search").get_by_label(
        "Search factories, enrolments, cohorts, partnerships and certificates"
    )
    box.fill(text)
    box.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")


def test_brand_finds_its_factory_by_os_id_chinese_name_and_pinyin_another_brand_none(
    page, live_server, world, brand_staff, other_brand_staff
):
    factory = world.factory
    factory.os_id = OS_ID
    factory.save()
    sign_in(page, live_server, brand_staff)
    page.goto("/")
    for text in (OS_ID, "东莞华美制衣有限公司", "Dongguan Huamei Zhiyi Youxian Gongsi"):
        search_from_the_header(page, text)
        factories = page.locator("#search-factories")
        expect(factories.get_by_role("heading", level=2)).to_have_text("Factories (1)")
        expect(factories.get_by_role("link", name=factory.name)).to_be_visible()
        # Its enrolment is found with it.
        expect(page.locator("#search-enrolments").get_by_role("link")).to_have_count(1)
    page.locator("#search-factories").get_by_role("link", name=factory.name).click()
    expect(page).to_have_url(f"{live_server.url}{factory.get_absolute_url()}")
    assert page.problems == []

    page.context.clear_cookies()
    sign_in(page, live_server, other_brand_staff)
    page.goto("/")
    for text in (OS_ID, "东莞华美制衣有限公司", "Dongguan Huamei Zhiyi Youxian Gongsi", "A-001"):
        search_from_the_header(page, text)
        expect(page.get_by_text(f"Nothing found for “{text}”.")).to_be_visible()
        expect(page.get_by_role("link", name=factory.name)).to_have_count(0)
        expect(page.locator(".search-group")).to_have_count(0)
    assert page.problems == []
