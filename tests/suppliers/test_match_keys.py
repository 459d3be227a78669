"""Match keys stored on Factory: kept current by save(), the admin and both import paths;
recomputed by matching when a write went around save()."""

from __future__ import annotations

import importlib

import pytest
from django.urls import reverse

from suppliers.importing.normalise import keys_source, match_keys
from suppliers.models import Factory, SupplierImportRow
from suppliers.services import confirm_import
from tests.suppliers.conftest import csv_upload

pytestmark = pytest.mark.django_db
Outcome = SupplierImportRow.Outcome


def stored(factory: Factory) -> tuple[str, str, str, int | None]:
    factory.refresh_from_db()
    return (
        factory.match_name,
        factory.match_name_latin,
        factory.match_address,
        factory.match_source,
    )


def expected(name: str, name_latin: str, address: str) -> tuple[str, str, str, int]:
    return (*match_keys(name, name_latin, address), keys_source(name, name_latin, address))


def test_keys_are_computed_on_create_and_kept_current_on_save():
    factory = Factory.objects.create(name="东莞华美制衣有限公司", address="工业路1号", country="CN")
    assert stored(factory) == expected("东莞华美制衣有限公司", "", "工业路1号")
    assert factory.match_name == "dongguanhuamei|dongguanhuamei|garment||dongguanhuameigarment"

    factory.name_latin = "Dongguan Huamei Garment Co., Ltd."
    factory.save(update_fields=["name_latin"])
    assert stored(factory) == expected(
        "东莞华美制衣有限公司", "Dongguan Huamei Garment Co., Ltd.", "工业路1号"
    )
    assert (
        factory.match_name_latin == "dongguanhuamei|dongguanhuamei|garment||dongguanhuameigarment"
    )

    factory.city = "Dongguan"
    before = stored(factory)
    factory.save(update_fields=["city"])  # nothing the keys depend on: nothing recomputed
    assert stored(factory) == before


def test_admin_edit_keeps_the_keys_current(client, django_user_model):
    admin = django_user_model.objects.create_superuser(email="root@example.org", password="x")
    client.force_login(admin)
    factory = Factory.objects.create(name="Old Mill", address="1 Road", country="TR")
    url = reverse("admin:suppliers_factory_change", args=[factory.pk])
    form = {
        "name": "Anatolia Denim Tekstil A.Ş.",
        "name_latin": "",
        "address": "1 Fabrika Yolu, Bursa",
        "city": "",
        "country": "TR",
        "sector": "",
        "product_type": "",
        "workers_total": "",
        "workers_women": "",
        "os_id": "",
        "registration_number": "",
        "parent_company": "",
        "language": "en",
        "contact_name": "",
        "contact_email": "",
        "contact_phone": "",
        "brand_links-TOTAL_FORMS": "0",
        "brand_links-INITIAL_FORMS": "0",
        "managers-TOTAL_FORMS": "0",
        "managers-INITIAL_FORMS": "0",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content[:2000]
    assert stored(factory) == expected("Anatolia Denim Tekstil A.Ş.", "", "1 Fabrika Yolu, Bursa")


def test_keys_changed_around_save_are_recomputed_by_matching(upload):
    factory = Factory.objects.create(name="Old Mill", address="1 Road", country="TR")
    # update() skips save(): the stored keys still describe "Old Mill".
    Factory.objects.filter(pk=factory.pk).update(name="Anatolia Denim Tekstil")
    assert stored(factory)[0] == "old|old||f|oldmill"
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country\nAnatolia Denim Tekstil A.Ş.,1 Road,TR\nOld Mill,1 Road,TR\n"
        )
    )
    rows = {r.line: r for r in supplier_import.rows.all()}
    assert (rows[2].outcome, rows[2].factory_id) == (Outcome.MATCHED, factory.pk)
    assert (rows[3].outcome, rows[3].factory_id) == (Outcome.NEW, None)


def test_factories_without_stored_keys_still_match(upload):
    factory = Factory.objects.create(
        name="Huamei Garment", address="12 Industrial Road", country="CN"
    )
    Factory.objects.filter(pk=factory.pk).update(
        match_name="", match_name_latin="", match_address="", match_source=None
    )
    supplier_import = upload(
        csv_upload("Name,Address,Country\nHuamei Garment Co Ltd,12 Industrial Rd,CN\n")
    )
    row = supplier_import.rows.get()
    assert (row.outcome, row.factory_id) == (Outcome.MATCHED, factory.pk)


def test_import_stores_the_keys_of_new_factories_and_of_latin_names_it_fills(upload, brand_staff):
    existing = Factory.objects.create(name="东莞华美制衣", address="工业路1号", country="CN")
    supplier_import = upload(
        csv_upload(
            "Name,Name in Latin script,Address,Country\n"
            "东莞华美制衣有限公司,Dongguan Huamei Garment Co Ltd,工业路1号,China\n"
            "Özdemir Tekstil San. ve Tic. A.Ş.,,Organize Sanayi Bölgesi 3. Cad.,TR\n"
        )
    )
    rows = {r.line: r for r in supplier_import.rows.all()}
    assert rows[2].outcome == Outcome.MATCHED
    assert rows[3].outcome == Outcome.NEW
    assert (rows[3].match_name, rows[3].match_address) == match_keys(
        "Özdemir Tekstil San. ve Tic. A.Ş.", "", "Organize Sanayi Bölgesi 3. Cad."
    )[::2]
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    new = Factory.objects.get(country="TR")
    assert stored(new) == expected(
        "Özdemir Tekstil San. ve Tic. A.Ş.", "", "Organize Sanayi Bölgesi 3. Cad."
    )
    assert stored(existing) == expected(
        "东莞华美制衣", "Dongguan Huamei Garment Co Ltd", "工业路1号"
    )


def test_filling_a_latin_name_never_makes_stale_keys_look_current(upload, brand_staff):
    factory = Factory.objects.create(
        name="Huamei Garment", address="12 Industrial Road", country="CN"
    )
    Factory.objects.filter(pk=factory.pk).update(match_name="something else")
    Factory.objects.filter(pk=factory.pk).update(address="12 Industrial Rd")
    supplier_import = upload(
        csv_upload(
            "Name,Name in Latin script,Address,Country\n"
            "Huamei Garment,Huamei Garment Ltd,12 Industrial Road,CN\n"
        )
    )
    assert supplier_import.rows.get().factory_id == factory.pk
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    factory.refresh_from_db()
    assert factory.name_latin == "Huamei Garment Ltd"
    # The stored keys were stale (their hash did not fit the texts): they stay stale, with no
    # hash at all, so the next import recomputes them; never trusted and wrong.
    assert factory.match_source is None
    assert factory.match_name == "something else"
    again = upload(csv_upload("Name,Address,Country\nHuamei Garment,12 Industrial Rd,CN\n"))
    assert again.rows.get().factory_id == factory.pk


@pytest.mark.parametrize(
    "module", ["0005_factory_match_keys", "0011_factory_match_keys_any_script"]
)
def test_the_migration_stores_the_keys_of_factories_already_there(module):
    from django.apps import apps

    migration = importlib.import_module(f"suppliers.migrations.{module}")
    factory = Factory.objects.create(
        name="东莞华美制衣有限公司", address="东莞市12号", country="CN"
    )
    # Keys of the rules before (version 1: words joined by spaces).
    Factory.objects.filter(pk=factory.pk).update(
        match_name="dong guan hua mei zhi yi", match_source=None
    )
    migration.store_match_keys(apps, None)
    assert stored(factory) == expected("东莞华美制衣有限公司", "", "东莞市12号")
    assert stored(factory)[0] == "huamei|dongguanhuamei|garment||dongguanhuameigarment"
