"""An ILO admin finds a duplicate in the queue, previews the merge, confirms it, and the old
record's address leads to the survivor."""

import pytest
from playwright.sync_api import expect

from score_portal.models import OutboundEmail
from suppliers.models import DuplicateCandidate, Factory, FactoryMerge
from suppliers.services import link_supplier
from suppliers.tasks import find_duplicate_factories
from tests.browser.conftest import sign_in
from tests.factories import FactoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_merge_two_records_from_the_duplicates_queue(
    page, live_server, ilo_admin, brand, brand_staff, other_brand
):
    keep = FactoryFactory(
        name="Dongguan Huamei Garment Co., Ltd.", name_latin="", address="12 Industrial Road"
    )
    twin = FactoryFactory(
        name="Dongguan Huamei Garment Company Limited",
        name_latin="",
        address="12 Industrial Rd.",
        os_id="CN2019067X1K87E",
    )
    link_supplier(brand=brand, factory=keep, supplier_code="A-001")
    link_supplier(brand=other_brand, factory=twin, supplier_code="B-777")
    find_duplicate_factories()
    assert DuplicateCandidate.objects.count() == 1
    old_url = twin.get_absolute_url()

    sign_in(page, live_server, ilo_admin)
    page.goto("/suppliers/")
    page.get_by_role("link", name="Possible duplicates").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Possible duplicate factories")
    row = page.locator("#duplicates tbody tr")
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Compare and merge").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Merge two factory records")
    expect(page.locator("#merge-moves")).to_contain_text("brand suppliers moved: 1")
    expect(page.locator("#merge-aliases")).to_contain_text(
        "Dongguan Huamei Garment Company Limited"
    )
    expect(page.locator("#merge-filled")).to_contain_text("CN2019067X1K87E")
    page.get_by_role("button", name=f"Merge record {twin.pk} into record {keep.pk}").click()
    # The reason is required: the form says so beside the field, nothing is merged.
    expect(page.locator("#id_reason_error")).to_be_visible()
    assert Factory.objects.filter(pk=twin.pk).exists()
    page.get_by_label("Why are these records one factory?").fill("Same address, same OS ID.")
    page.get_by_role("button", name=f"Merge record {twin.pk} into record {keep.pk}").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(keep.name)
    expect(page.get_by_text("is now part of")).to_be_visible()
    expect(page.locator(".aliases")).to_contain_text("Dongguan Huamei Garment Company Limited")
    page.get_by_role("link", name="Dongguan Huamei Garment Company Limited (record").click()
    expect(page.get_by_text("Same address, same OS ID.")).to_be_visible()
    page.goto(old_url)
    expect(page).to_have_url(live_server.url + keep.get_absolute_url())
    assert not Factory.objects.filter(pk=twin.pk).exists()
    assert FactoryMerge.objects.get().merged_by == ilo_admin
    assert Factory.objects.get(pk=keep.pk).os_id == "CN2019067X1K87E"
    assert OutboundEmail.objects.filter(template="factory_merged").count() == 1  # brand A
    assert page.problems == []
