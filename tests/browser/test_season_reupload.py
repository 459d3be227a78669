"""A brand's list for the new season, in the browser: the change preview, a possible match
decided in place, the suppliers leaving the list, the confirm, and one restored (issue 18)."""

import pytest
from playwright.sync_api import expect

from suppliers.models import BrandSupplier, Factory, FactoryChange
from tests.browser.test_supplier_import import signed_in  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_seasons_reupload_with_its_change_preview(signed_in, settings, tmp_path, brand):  # noqa: F811
    from suppliers.services import link_supplier

    page = signed_in
    settings.MEDIA_ROOT = tmp_path
    ozdemir = Factory.objects.create(
        name="Özdemir Tekstil San. ve Tic. A.Ş.",
        address="Demirtaş OSB, Mustafa Karaer Cd. No:12",
        country="TR",
    )
    caglar = Factory.objects.create(
        name="Çağlar Örme Sanayi Ltd. Şti.", address="Organize Sanayi 3. Cadde No:7", country="TR"
    )
    anatolia = Factory.objects.create(
        name="Anatolia Denim Mill", address="5 Fabrika Yolu", country="TR"
    )
    link_supplier(brand=brand, factory=ozdemir, supplier_code="IDX-TR-0001")
    link_supplier(brand=brand, factory=caglar, supplier_code="IDX-TR-0002")
    season = tmp_path / "inditex-2027.csv"
    season.write_text(
        "Factory name,Address,City,Country,Supplier code\n"
        "Özdemir Tekstil San. ve Tic. A.Ş.,Demirtaş Organize Sanayi 2. Cadde No:4,Bursa,TR,"
        "IDX-TR-0001\n"
        "Anatolia Denim Milll,5 Fabrika Yolu,,TR,IDX-TR-0003\n",
        encoding="utf-8",
    )

    page.goto("/suppliers/imports/new/")
    page.get_by_label("Supplier list", exact=True).set_input_files(str(season))
    page.get_by_label("Our whole list").check()
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("inditex-2027.csv")
    expect(
        page.get_by_text(
            "Address: Demirtaş OSB, Mustafa Karaer Cd. No:12 → Demirtaş Organize Sanayi 2. "
            "Cadde No:4 (proposed to the factory"
        )
    ).to_be_visible()
    expect(page.get_by_text("City: — → Bursa (blank, filled in)")).to_be_visible()
    expect(page.get_by_role("heading", name="1 supplier is no longer on your list")).to_be_visible()
    expect(page.locator("#ending")).to_contain_text("IDX-TR-0002")
    expect(page.locator('[data-count="review"]')).to_have_text("1")

    # The possible match, decided in place: the counts change without a reload.
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Same factory", exact=True).click()
    expect(page.locator('[data-count="review"]')).to_have_text("0")
    expect(page.locator('[data-count="matched"]')).to_have_text("1")
    expect(page.get_by_text(f"Factory “{anatolia.name}”")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True

    page.get_by_role("button", name="Confirm and import 2 rows").click()
    expect(page.locator(".badge").first).to_have_text("Done")
    ozdemir.refresh_from_db()
    assert (ozdemir.city, ozdemir.address) == ("Bursa", "Demirtaş OSB, Mustafa Karaer Cd. No:12")
    assert FactoryChange.objects.get(factory=ozdemir).field == "address"
    assert BrandSupplier.objects.get(factory=caglar).ended_at is not None

    page.get_by_role("link", name="See your supplier list").click()
    expect(page.get_by_role("link", name=caglar.name)).to_have_count(0)
    page.get_by_label("Also suppliers that left your list").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("left the list on")).to_be_visible()
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("status")).to_contain_text("is on Brand A's supplier list again")
    assert BrandSupplier.objects.get(factory=caglar).ended_at is None
    assert page.problems == []
