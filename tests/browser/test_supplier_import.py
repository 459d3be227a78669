import pytest
from playwright.sync_api import expect

from suppliers.models import Factory
from tests.browser.conftest import sign_in
from tests.suppliers.conftest import FIXTURES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def signed_in(page, live_server, brand_staff):
    return sign_in(page, live_server, brand_staff)


def test_upload_preview_confirm_progress_list(signed_in, settings, tmp_path, brand):
    page = signed_in
    settings.MEDIA_ROOT = tmp_path
    settings.SUPPLIER_IMPORT_INLINE_ROWS = 0  # confirm goes through the worker's task
    page.goto("/suppliers/imports/")
    page.get_by_role("link", name="Import a supplier list").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import a supplier list")
    page.get_by_label("Supplier list", exact=True).set_input_files(
        str(FIXTURES / "with_errors.csv")
    )
    page.get_by_label("Additions and changes").check()
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("with_errors.csv")
    expect(page.get_by_text("Nothing is saved yet.")).to_be_visible()
    expect(page.get_by_text("“Atlantis” is not a country we know")).to_be_visible()
    assert Factory.objects.count() == 0

    page.get_by_role("button", name="Confirm and import 1 row").click()
    expect(page.locator(".badge").first).to_have_text("Done")
    expect(page.get_by_text("Writing the factories")).to_have_count(0)
    page.get_by_role("link", name="See your supplier list").click()
    expect(page.get_by_role("link", name="Özdemir Tekstil San. ve Tic. A.Ş.")).to_be_visible()
    assert page.problems == []


def test_progress_bar_updates_in_place(signed_in, brand, brand_staff, tmp_path, settings):
    from suppliers.models import SupplierImport

    page = signed_in
    supplier_import = SupplierImport.objects.create(
        brand=brand,
        uploaded_by=brand_staff,
        original_filename="big.csv",
        file="x.csv",
        status=SupplierImport.Status.ANALYSING,
        progress=40,
    )
    page.goto(supplier_import.get_absolute_url())
    expect(page.locator("#import-progress-bar")).to_have_attribute("value", "40")
    SupplierImport.objects.filter(pk=supplier_import.pk).update(progress=75)
    expect(page.locator("#import-progress-bar")).to_have_attribute("value", "75")
    SupplierImport.objects.filter(pk=supplier_import.pk).update(
        status=SupplierImport.Status.PREVIEWED, progress=100
    )
    expect(page.get_by_text("Nothing is saved yet.")).to_be_visible()
    expect(page.locator("#import-progress-bar")).to_have_count(0)
    assert page.problems == []


def test_export_downloads_and_a_list_too_long_for_excel_says_so(signed_in, brand, settings):
    from suppliers.services import link_supplier
    from tests.factories import FactoryFactory

    page = signed_in
    for n in range(2):
        link_supplier(brand=brand, factory=FactoryFactory(name=f"Mill {n}"), supplier_code=f"M{n}")
    page.goto("/suppliers/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export XLSX").click()
    assert download.value.suggested_filename == "suppliers.xlsx"

    settings.SUPPLIER_EXPORT_XLSX_MAX_ROWS = 1
    page.get_by_role("link", name="Export XLSX").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Your list has 2 suppliers: an Excel export holds at most 1."
    )
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename == "suppliers.csv"
    assert page.problems == []
