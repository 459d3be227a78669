import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_brand_user_signs_in_and_sees_their_home(page, world, brand_staff):
    page.goto("/")
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Email").fill(brand_staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Brand A")
    expect(page.get_by_role("link", name="Brand A pilot")).to_be_visible()
    expect(page.get_by_text(world.factory.name).first).to_be_visible()
    expect(page.get_by_text(world.other_factory.name)).to_have_count(0)
    assert page.problems == []

    # Another brand's partnership, asked for by id, is simply not there.
    response = page.goto(f"/partners/partnerships/{world.other_partnership.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


def test_language_switcher_works_without_inline_script(page, db):
    page.goto("/")
    # Opening the menu changes nothing (WCAG 3.2.2 On Input); a language's button applies it.
    page.locator(".language-menu summary").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Türkçe").click()
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    assert page.problems == []


def test_spanish_speaker_on_an_english_browser_reads_spanish(page, world, brand_staff):
    brand_staff.language = "es"
    brand_staff.save(update_fields=["language"])
    page.goto("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Email").fill(brand_staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("navigation").get_by_role("link", name="Inicio")).to_be_visible()
    # The profile page changes it for good: pages and emails follow.
    page.locator(".account-menu summary").click()
    page.get_by_role("link", name="Su perfil").click()
    page.locator("#id_language").select_option("tr")
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator("html")).to_have_attribute("lang", "tr")
    brand_staff.refresh_from_db()
    assert brand_staff.language == "tr"
    assert page.problems == []
