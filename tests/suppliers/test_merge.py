"""Merging two records of one factory through the ILO's pages: preview, confirm, what moves,
aliases, the old address, the brands told, and who may do it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from score_portal.models import OutboundEmail
from suppliers import merging
from suppliers.models import (
    BrandSupplier,
    DuplicateCandidate,
    Factory,
    FactoryAlias,
    FactoryManager,
    FactoryMerge,
)
from suppliers.services import add_factory_manager, link_supplier
from tests.conftest import client_for
from tests.factories import FactoryFactory, UserFactory
from tests.suppliers.conftest import csv_upload
from training.models import Enrolment, KPIDefinition, KPIReading, Participant
from training.services import enrol_factory

pytestmark = pytest.mark.django_db

MERGE_URL = reverse("suppliers:factory_merge")


@pytest.fixture
def duplicate(world, brand, other_brand, other_brand_staff, module_1):
    """A second record of brand A's factory, uploaded in Latin script by brand B (and once
    by brand A under another code), with its own manager, enrolment, participant and KPI."""
    factory = FactoryFactory(
        name="Dongguan Huamei Garment Co., Ltd.",
        name_latin="",
        address=world.factory.address,
        city="Dongguan",
        os_id="CN2019067X1K87E",
        registration_number="91441900MA4UJ",
        parent_company="Huamei Group",
    )
    Factory.objects.filter(pk=world.factory.pk).update(parent_company="")
    link_supplier(brand=other_brand, factory=factory, supplier_code="B-777")
    link_supplier(brand=brand, factory=factory, supplier_code="A-999")
    enrolment = enrol_factory(
        factory=factory, module=module_1, partnership=world.other_partnership, enrolled_by=None
    )
    Participant.objects.create(enrolment=enrolment, name="Li Na", role="worker", gender="woman")
    KPIReading.objects.create(
        enrolment=enrolment,
        kpi=KPIDefinition.objects.first(),
        kind=KPIReading.Kind.BASELINE,
        value=12,
        measured_on=enrolment.created_at.date(),
    )
    add_factory_manager(factory=factory, user=UserFactory(email="li@huamei.example.org"))
    return factory


def _preview(client, keep, merge):
    return client.get(MERGE_URL, {"keep": keep.pk, "merge": merge.pk})


def _merge(client, keep, merge, reason="Same licence number, same address."):
    preview = _preview(client, keep, merge)
    assert preview.status_code == 200
    return client.post(
        MERGE_URL,
        {
            "keep": keep.pk,
            "merge": merge.pk,
            "reason": reason,
            "fingerprint": preview.context["plan"].fingerprint,
        },
    )


def test_preview_shows_what_moves_and_changes_nothing(world, duplicate, ilo_admin):
    response = _preview(client_for(ilo_admin), world.factory, duplicate)
    assert response.status_code == 200
    plan = response.context["plan"]
    lines = dict(plan.lines)
    assert lines["brand suppliers"] == 1  # brand B's link; brand A keeps its own
    assert lines["enrolments"] == 1
    assert lines["participants"] == 1
    assert lines["KPI readings"] == 1
    assert lines["factory managers"] == 1
    page = response.text
    assert "Brand A listed both records: its code A-001 is kept, A-999 stays searchable" in page
    assert f"enrolment {world.enrolment.pk}" in page and "is withdrawn" in page
    assert "Dongguan Huamei Garment Co., Ltd." in page
    assert Factory.objects.filter(pk=duplicate.pk).exists()
    assert not FactoryMerge.objects.exists()


def test_merge_moves_everything_keeps_aliases_and_tells_the_brands(
    world, duplicate, ilo_admin, brand_staff, other_brand_staff, module_1
):
    dup_id = duplicate.pk
    dup_enrolment = Enrolment.objects.get(factory=duplicate)
    response = _merge(client_for(ilo_admin), world.factory, duplicate)
    assert response.status_code == 302
    assert response["Location"] == world.factory.get_absolute_url()
    survivor = Factory.objects.get(pk=world.factory.pk)
    assert not Factory.objects.filter(pk=dup_id).exists()
    # Brand links: brand A keeps one link with its own code, brand B's moved.
    assert dict(survivor.brand_links.values_list("brand__name", "supplier_code")) == {
        "Brand A": "A-001",
        "Brand B": "B-777",
    }
    # Two pending enrolments of Module 1: the older stays, the other is withdrawn (its place
    # released), and both are on the survivor with their participants and readings.
    enrolments = {e.pk: e for e in Enrolment.objects.filter(factory=survivor)}
    assert set(enrolments) == {world.enrolment.pk, dup_enrolment.pk}
    assert enrolments[world.enrolment.pk].status == Enrolment.Status.PENDING
    assert enrolments[dup_enrolment.pk].status == Enrolment.Status.WITHDRAWN
    assert "merged" in enrolments[dup_enrolment.pk].withdrawal_reason
    assert Participant.objects.filter(enrolment__factory=survivor).count() == 1
    assert KPIReading.objects.filter(enrolment__factory=survivor).count() == 1
    assert FactoryManager.objects.filter(factory=survivor).count() == 1
    # Blanks filled, nothing overwritten; the OS ID moved to the survivor.
    assert survivor.os_id == "CN2019067X1K87E"
    assert survivor.parent_company == "Huamei Group"
    assert survivor.name == world.factory.name
    aliases = set(survivor.aliases.values_list("kind", "value", "brand__name"))
    assert ("name", "Dongguan Huamei Garment Co., Ltd.", None) in aliases
    assert ("supplier_code", "A-999", "Brand A") in aliases
    assert ("supplier_code", "B-777", "Brand B") in aliases
    assert ("registration", "91441900MA4UJ", None) not in aliases  # the survivor took it
    record = FactoryMerge.objects.get()
    assert (record.survivor, record.merged_factory_id, record.merged_by) == (
        survivor,
        dup_id,
        ilo_admin,
    )
    assert record.reason == "Same licence number, same address."
    assert record.merged_record["os_id"] == "CN2019067X1K87E"
    assert {"label": "enrolments", "count": 1} in record.moved
    # Every person of both brands is told, once.
    emails = OutboundEmail.objects.filter(template="factory_merged")
    assert sorted(emails.values_list("to", flat=True)) == sorted(
        [brand_staff.email, other_brand_staff.email]
    )
    assert "A-001" in emails.get(to=brand_staff.email).body_text
    # The survivor's page explains it to the ILO, and the record page says what moved.
    page = client_for(ilo_admin).get(survivor.get_absolute_url()).text
    assert record.get_absolute_url() in page
    detail = client_for(ilo_admin).get(record.get_absolute_url())
    assert detail.status_code == 200
    assert "Same licence number" in detail.text


def test_old_address_redirects_those_who_may_see_the_survivor(
    world, duplicate, ilo_admin, brand_staff, other_brand_staff, other_factory_manager
):
    old_url = duplicate.get_absolute_url()
    _merge(client_for(ilo_admin), world.factory, duplicate)
    for person in (ilo_admin, brand_staff, other_brand_staff):
        response = client_for(person).get(old_url)
        assert response.status_code == 302, person
        assert response["Location"] == world.factory.get_absolute_url()
    assert client_for(other_factory_manager).get(old_url).status_code == 404
    assert client_for(None).get(old_url).status_code == 302  # to sign in, like any page
    assert client_for(brand_staff).get("/suppliers/factories/987654/").status_code == 404


def test_aliases_are_searchable_and_codes_stay_their_brands(
    world, duplicate, ilo_admin, brand_staff, other_brand_staff
):
    _merge(client_for(ilo_admin), world.factory, duplicate)
    listing = reverse("suppliers:factory_list")
    for query in ("Huamei Garment Co., Ltd.", "CN2019067X1K87E", "A-999"):
        page = client_for(brand_staff).get(listing, {"q": query}).text
        assert world.factory.name in page, query
    # Brand B sees the factory by its own old code, never by brand A's.
    assert world.factory.name in client_for(other_brand_staff).get(listing, {"q": "B-777"}).text
    assert "No factory matches" in client_for(other_brand_staff).get(listing, {"q": "A-999"}).text
    detail = client_for(other_brand_staff).get(world.factory.get_absolute_url()).text
    assert "B-777" in detail and "A-999" not in detail


def test_an_upload_finds_the_survivor_by_an_alias(world, duplicate, ilo_admin, brand, upload):
    other = FactoryFactory(name="Shenzhen Star Electronics", name_latin="", os_id="CN2020100ABCDEF")
    other_twin = FactoryFactory(
        name="Shenzhen Star Electronic Factory", name_latin="", os_id="CN2021200GHIJKL",
        address=other.address,
    )  # fmt: skip
    _merge(client_for(ilo_admin), world.factory, duplicate)
    _merge(client_for(ilo_admin), other, other_twin)
    text = (
        "Factory name,Address,Country,OS ID\n"
        f'"Dongguan Huamei Garment Co., Ltd.","{world.factory.address}",CN,\n'
        f'"Somebody else","1 Nowhere Street",CN,CN2021200GHIJKL\n'
    )
    supplier_import = upload(csv_upload(text))
    rows = {row.line: row for row in supplier_import.rows.all()}
    assert rows[2].factory_id == world.factory.pk  # by the merged record's name
    assert rows[3].factory_id == other.pk  # by the merged record's OS ID
    assert Factory.objects.filter(country="CN").count() == 2


def test_two_begun_enrolments_of_one_module_refuse_the_merge(world, duplicate, ilo_admin):
    Enrolment.objects.filter(factory__in=[world.factory, duplicate]).update(
        status=Enrolment.Status.IN_PROGRESS
    )
    client = client_for(ilo_admin)
    preview = _preview(client, world.factory, duplicate)
    assert "withdraw the one that is wrong before merging" in preview.text
    assert "Merge record" not in preview.text  # no confirm button
    response = client.post(
        MERGE_URL,
        {"keep": world.factory.pk, "merge": duplicate.pk, "reason": "x", "fingerprint": "x"},
    )
    assert response.status_code == 200
    assert Factory.objects.filter(pk=duplicate.pk).exists()
    assert not FactoryMerge.objects.exists()
    assert Enrolment.objects.filter(status=Enrolment.Status.WITHDRAWN).count() == 0


def test_a_stale_preview_or_a_missing_reason_merges_nothing(world, duplicate, ilo_admin):
    client = client_for(ilo_admin)
    data = {"keep": world.factory.pk, "merge": duplicate.pk, "reason": "Same factory."}
    response = client.post(MERGE_URL, {**data, "fingerprint": "0" * 32}, follow=True)
    assert "changed since the preview" in response.text
    assert "Same factory." in response.text  # the typed reason is kept
    response = client.post(MERGE_URL, {**data, "reason": "  ", "fingerprint": "0" * 32})
    assert response.status_code == 200
    assert "This field is required" in response.text
    assert Factory.objects.filter(pk=duplicate.pk).exists()
    assert not FactoryMerge.objects.exists()


def test_records_in_two_countries_or_one_record_twice_are_refused(world, ilo_admin):
    client = client_for(ilo_admin)
    response = _preview(client, world.factory, world.other_factory)
    assert response.status_code == 200
    assert "different countries" in response.text
    assert response.context["plan"] is None
    response = client.post(
        MERGE_URL,
        {"keep": world.factory.pk, "merge": world.factory.pk, "reason": "x", "fingerprint": "x"},
    )
    assert "cannot be merged into itself" in response.text
    assert Factory.objects.filter(pk=world.factory.pk).exists()


def test_a_merge_that_fails_halfway_leaves_nothing_done(world, duplicate, ilo_admin):
    def broken_hook(**kwargs):
        if kwargs["apply"]:
            raise RuntimeError("the disk is full")
        return merging.MergeStep()

    merging.register_merge_hook(broken_hook)
    try:
        with pytest.raises(RuntimeError):
            merging.merge_factories(
                survivor_id=world.factory.pk, merged_id=duplicate.pk, actor=ilo_admin, reason="x"
            )
    finally:
        merging._HOOKS.remove(broken_hook)
    assert Factory.objects.filter(pk=duplicate.pk).exists()
    assert BrandSupplier.objects.filter(factory=duplicate).count() == 2
    assert Enrolment.objects.get(factory=duplicate).status == Enrolment.Status.PENDING
    assert not FactoryMerge.objects.exists() and not FactoryAlias.objects.exists()
    assert not OutboundEmail.objects.filter(template="factory_merged").exists()


@pytest.mark.parametrize(
    "persona", ["brand_staff", "brand_viewer", "other_brand_staff", "factory_manager", "trainer"]
)
def test_only_the_ilo_reaches_the_registry_pages(request, world, duplicate, persona):
    client = client_for(request.getfixturevalue(persona))
    pair = DuplicateCandidate.objects.create(
        factory_a=world.factory, factory_b=duplicate, country="CN", score=95, how="fuzzy",
        found_at=world.factory.created_at,
    )  # fmt: skip
    keep, merge = world.factory.pk, duplicate.pk
    assert client.get(MERGE_URL, {"keep": keep, "merge": merge}).status_code == 404
    data = {"keep": keep, "merge": merge, "reason": "x", "fingerprint": "x"}
    assert client.post(MERGE_URL, data).status_code == 404
    assert client.get(reverse("suppliers:duplicate_list")).status_code == 404
    assert client.post(reverse("suppliers:duplicate_search")).status_code == 404
    assert client.post(reverse("suppliers:duplicate_dismiss", args=[pair.pk])).status_code == 404
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.OPEN
    assert Factory.objects.filter(pk=duplicate.pk).exists()


def test_merge_pages_answer_404_for_ids_that_are_not_there(world, ilo_admin):
    client = client_for(ilo_admin)
    assert client.get(MERGE_URL, {"keep": world.factory.pk, "merge": "²"}).status_code == 404
    assert client.get(MERGE_URL, {"keep": world.factory.pk, "merge": 99999}).status_code == 404
    assert client.get(MERGE_URL).status_code == 404
    assert client.get(reverse("suppliers:merge_detail", args=[99999])).status_code == 404
