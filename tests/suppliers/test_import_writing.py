"""What a confirmed import writes, spelled out: new factories with their links and codes,
blanks filled on matched factories (never overwritten), the last row for a factory winning,
links created or their codes changed. One write path, on whichever database the suite runs
on (``make test`` runs these tests on SQLite, then on PostgreSQL when it is reachable)."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from suppliers.importing import writing
from suppliers.importing.normalise import match_keys
from suppliers.models import BrandSupplier, Factory, SupplierImport, SupplierImportRow
from suppliers.services import confirm_import
from tests.suppliers.conftest import csv_upload

pytestmark = pytest.mark.django_db
Status = SupplierImport.Status
Outcome = SupplierImportRow.Outcome

LIST = (
    "Name,Address,Country,Supplier code,OS ID,City,Workers,Women workers\n"
    '"Anatolia Denim Tekstil A.Ş.","1 Fabrika Yolu, Bursa",Turkey,T-1,,Bursa,120,60\n'
    '"Back\\slash ""Quoted"" Mill","Road\twith tab",BD,T-2,,,,\n'
    "东莞华美制衣有限公司,工业路1号,CN,T-3,CN2019067X1K87E,,,\n"
    '"Back\\slash ""Quoted"" Mill","Road with tab",Bangladesh,,,,,\n'
    "Other Mill,2 Road,TR,T-1,,,,\n"
    "Sunken Mill,1 Sea Road,Atlantis,,,,,\n"
    "Completely Different,Elsewhere 9,TR,T-4,TR2020123ABCDEF,,,\n"
    "Anadolu Dokumaa,9 Sanayi Cad Bursa,TR,T-5,,,,\n"
)


def test_an_import_writes_what_its_preview_promised(upload, brand, other_brand, brand_staff):
    denim = Factory.objects.create(
        name="Anatolia Denim Tekstil", address="1 Fabrika Yolu, Bursa", country="TR"
    )
    by_os_id = Factory.objects.create(
        name="Something Else", address="Far away", country="TR", os_id="TR2020123ABCDEF"
    )
    dokuma = Factory.objects.create(
        name="Anadolu Dokuma", address="9 Sanayi Cad, Bursa", country="TR", city="Bursa"
    )
    BrandSupplier.objects.create(brand=brand, factory=by_os_id, supplier_code="OLD-4")
    BrandSupplier.objects.create(brand=other_brand, factory=denim, supplier_code="B-1")

    supplier_import = upload(csv_upload(LIST))
    rows = {r.line: r for r in supplier_import.rows.all()}
    assert {line: r.outcome for line, r in rows.items()} == {
        2: Outcome.MATCHED,
        3: Outcome.NEW,
        4: Outcome.NEW,
        5: Outcome.UNCHANGED,
        6: Outcome.ERROR,
        7: Outcome.ERROR,
        8: Outcome.UPDATED,
        9: Outcome.REVIEW,
    }
    assert rows[2].factory_id == denim.pk
    assert rows[3].data == {
        "name": 'Back\\slash "Quoted" Mill',
        "address": "Road with tab",
        "country": "BD",
        "supplier_code": "T-2",
    }
    assert (rows[3].match_name, rows[3].match_address) == (
        "backslashquoted|backslashquoted||f|backslashquotedmill",
        "roadwithtab",
    )
    assert rows[4].data["name"] == "东莞华美制衣有限公司"
    assert (rows[5].duplicate_of, rows[5].factory_id) == (3, None)
    assert rows[6].error_text == "Supplier code: T-1 is also given to another factory on row 2"
    assert rows[6].data["_cells"] == ["Other Mill", "2 Road", "TR", "T-1", "", "", "", ""]
    assert rows[7].error_text == "Country: “Atlantis” is not a country we know"
    assert rows[8].factory_id == by_os_id.pk
    assert (rows[9].candidate_id, rows[9].score) == (dokuma.pk, 96)
    assert re.fullmatch(r"[0-9a-f]{32}", rows[2].row_key)

    rows[9].outcome = Outcome.NEW  # as if rejected: the preview asks first
    rows[9].candidate_id = None
    rows[9].save()
    supplier_import.rows_review = 0
    supplier_import.rows_new += 1
    supplier_import.save()
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.DONE, supplier_import.error_message

    # New factories in the file's order, with the values and match keys their rows gave.
    new = list(
        Factory.objects.exclude(pk__in=[denim.pk, by_os_id.pk, dokuma.pk])
        .order_by("pk")
        .values_list(
            "name", "address", "country", "os_id", "language", "workers_total", "match_name"
        )
    )
    assert new == [
        (
            'Back\\slash "Quoted" Mill',
            "Road with tab",
            "BD",
            "",
            "en",
            None,
            match_keys('Back\\slash "Quoted" Mill', "", "Road with tab")[0],
        ),
        (
            "东莞华美制衣有限公司",
            "工业路1号",
            "CN",
            "CN2019067X1K87E",
            "en",
            None,
            "dongguanhuamei|dongguanhuamei|garment||dongguanhuameigarment",
        ),
        (
            "Anadolu Dokumaa",
            "9 Sanayi Cad Bursa",
            "TR",
            "",
            "en",
            None,
            "anadoludokumaa|anadoludokumaa|||anadoludokumaa",
        ),
    ]
    denim.refresh_from_db()
    assert (denim.city, denim.workers_total, denim.workers_women) == ("Bursa", 120, 60)
    by_os_id.refresh_from_db()
    assert (by_os_id.name, by_os_id.address) == ("Something Else", "Far away")  # never overwritten
    codes = dict(
        BrandSupplier.objects.filter(brand=brand).values_list("factory__name", "supplier_code")
    )
    assert codes == {
        "Anatolia Denim Tekstil": "T-1",
        'Back\\slash "Quoted" Mill': "T-2",
        "东莞华美制衣有限公司": "T-3",
        "Something Else": "T-4",  # was OLD-4
        "Anadolu Dokumaa": "T-5",
    }
    # Brand B's own link and code are untouched.
    assert BrandSupplier.objects.get(brand=other_brand).supplier_code == "B-1"
    created = BrandSupplier.objects.filter(brand=brand).exclude(factory=by_os_id)
    assert set(created.values_list("source_import", flat=True)) == {supplier_import.pk}
    assert BrandSupplier.objects.get(factory=by_os_id).source_import_id is None


def test_blanks_are_filled_but_never_overwritten(upload, brand_staff):
    factory = Factory.objects.create(
        name="Huamei Garment", address="12 Industrial Road", country="CN", city="Dongguan"
    )
    wants_taken_id = Factory.objects.create(name="Dongguan Knit", address="8 Road", country="CN")
    Factory.objects.create(name="Taken", address="1 Road", country="CN", os_id="CN2019067X1K87E")
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,City,Sector,OS ID,Workers,Women workers\n"
            "Huamei Garment Co Ltd,12 Industrial Rd,CN,Shenzhen,apparel,CN2019067X1K87F,300,\n"
            "Dongguan Knit,8 Road,CN,Dongguan,,,40,10\n"
        )
    )
    assert [r.outcome for r in supplier_import.rows.order_by("line")] == [Outcome.MATCHED] * 2
    # Between preview and confirm, someone gives line 3's factory an OS ID another holds.
    SupplierImportRow.objects.filter(supplier_import=supplier_import, line=3).update(
        data={
            "name": "Dongguan Knit",
            "address": "8 Road",
            "country": "CN",
            "city": "Dongguan",
            "os_id": "CN2019067X1K87E",
            "workers_total": 40,
            "workers_women": 10,
        }
    )
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    factory.refresh_from_db()
    assert (
        factory.city,
        factory.sector,
        factory.os_id,
        factory.workers_total,
        factory.workers_women,
    ) == ("Dongguan", "garments", "CN2019067X1K87F", 300, None)
    wants_taken_id.refresh_from_db()
    assert (wants_taken_id.os_id, wants_taken_id.city, wants_taken_id.workers_total) == (
        "",  # CN2019067X1K87E is "Taken"'s
        "Dongguan",
        40,
    )
    assert wants_taken_id.workers_women == 10


def test_workers_are_filled_only_where_neither_number_is_known(upload, brand_staff):
    women_only = Factory.objects.create(
        name="Women Only Mill", address="1 Road", country="TR", workers_women=30
    )
    supplier_import = upload(
        csv_upload("Name,Address,Country,Workers,Women workers\nWomen Only Mill,1 Road,TR,100,50\n")
    )
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    women_only.refresh_from_db()
    assert (women_only.workers_total, women_only.workers_women) == (None, 30)


def test_two_rows_for_one_factory_never_drop_a_code(upload, brand, brand_staff):
    """Two rows of the file that are not repeats of each other (another name and address,
    another OS ID) matched one factory: the first counts; the second, with another code,
    is an error naming its code (a factory has one code on a brand's list), never dropped
    unsaid. Without a code of its own it repeats the first."""
    factory = Factory.objects.create(
        name="Huamei Garment", address="12 Road", country="CN", os_id="CN2019067X1K87F"
    )
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,Supplier code,OS ID,City\n"
            "Huamei Garment,12 Road,CN,H-1,,Dongguan\n"  # by name and address
            "Huamei Textile,99 Road,CN,H-2,CN2019067X1K87F,Shenzhen\n"  # by OS ID
            "Huamei Knit,7 Road,CN,,CN2019067X1K87F,\n"  # by OS ID, no code
        )
    )
    rows = list(supplier_import.rows.order_by("line"))
    assert [(r.outcome, r.factory_id, r.duplicate_of) for r in rows] == [
        (Outcome.MATCHED, factory.pk, None),
        (Outcome.ERROR, None, None),
        (Outcome.UNCHANGED, factory.pk, 3),  # the OS ID's first row (mark_repeats)
    ]
    assert "H-2" in rows[1].error_text and "row 2" in rows[1].error_text
    assert "Huamei Garment" in rows[1].error_text
    assert rows[1].data["_cells"][0] == "Huamei Textile"  # for the download of rows to fix
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    factory.refresh_from_db()
    assert factory.city == "Dongguan"
    assert list(BrandSupplier.objects.values_list("factory_id", "supplier_code")) == [
        (factory.pk, "H-1")
    ]


def test_a_link_keeps_its_code_when_the_row_gives_none(upload, brand, brand_staff):
    coded = Factory.objects.create(name="Coded Mill", address="1 Road", country="TR")
    recoded = Factory.objects.create(name="Recoded Mill", address="2 Road", country="TR")
    BrandSupplier.objects.create(brand=brand, factory=coded, supplier_code="C-1")
    BrandSupplier.objects.create(brand=brand, factory=recoded, supplier_code="R-1")
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,Supplier code,City\n"
            "Coded Mill,1 Road,TR,,Bursa\n"
            "Recoded Mill,2 Road,TR,R-2,\n"
        )
    )
    assert [r.outcome for r in supplier_import.rows.order_by("line")] == [
        Outcome.UPDATED,  # a city to fill in
        Outcome.UPDATED,  # another code
    ]
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert dict(BrandSupplier.objects.values_list("factory__name", "supplier_code")) == {
        "Coded Mill": "C-1",
        "Recoded Mill": "R-2",
    }
    assert Factory.objects.get(pk=coded.pk).city == "Bursa"


def test_new_factories_take_ids_after_every_id_ever_given(upload, brand_staff):
    """Ids of deleted factories are not given again (SQLite's AUTOINCREMENT, PostgreSQL's
    sequence)."""
    gone = Factory.objects.create(name="Gone Mill", address="1 Road", country="TR")
    gone_id = gone.pk
    gone.delete()
    supplier_import = upload(
        csv_upload("Name,Address,Country\nA Mill,1 Road,TR\nB Mill,2 Road,TR\n")
    )
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    ids = list(Factory.objects.order_by("name").values_list("id", flat=True))
    assert len(ids) == 2 and gone_id < ids[0] < ids[1]
    later = Factory.objects.create(name="C Mill", address="3 Road", country="TR")
    assert later.pk > ids[1]


def test_code_taken_meanwhile_fails_the_confirm_cleanly(upload, brand, brand_staff):
    supplier_import = upload(
        csv_upload("Name,Address,Country,Supplier code\nNew Mill,2 Rd,TR,Z-1\n")
    )
    other = Factory.objects.create(name="Other", address="3 Rd", country="TR")
    BrandSupplier.objects.create(brand=brand, factory=other, supplier_code="Z-1")
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.FAILED
    assert "Nothing was written" in supplier_import.error_message
    assert Factory.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "name_latin", "address"),
    [
        ("东莞华美制衣有限公司", "", "工业路1号"),
        ("Özdemir Tekstil San. ve Tic. A.Ş.", "Ozdemir", "Organize Sanayi Bölgesi 3. Cad."),
        ('Back\\slash "Quoted" Mill', "", "Road 'with' quote"),
    ],
)
def test_the_database_computes_the_source_hash_python_does(name, name_latin, address):
    """A new factory's stored keys must fit its texts, or every import would recompute them."""
    sql = writing.dialect()
    with connection.cursor() as cursor:
        sql.prepare(cursor)
        cursor.execute(
            f"SELECT {sql.keys_source('%(name)s', '%(latin)s', '%(address)s')}",
            {
                "name": name,
                "latin": name_latin,
                "address": address,
                "keys_version": writing.KEYS_VERSION,
            },
        )
        computed = cursor.fetchone()[0]
    factory = Factory(name=name, name_latin=name_latin, address=address)
    factory.refresh_match_keys()
    assert computed == factory.match_source


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans are PostgreSQL's")
def test_os_id_lookups_use_the_os_id_index(upload, brand_staff):
    """Every OS ID lookup of an import can use the partial index on os_id. The fill-blank
    lookup once scanned every factory for each matched row bringing an OS ID (18 s at
    100,000 rows), and the batch lookup did too past 100 OS IDs."""
    Factory.objects.create(name="Huamei Garment", address="12 Industrial Road", country="CN")
    lines = ["Name,Address,Country,OS ID", "Huamei Garment,12 Industrial Road,CN,CN2019067X1K87F"]
    lines += [f"Mill {n},{n} Road,CN,CN{n:07d}ABCDEF" for n in range(120)]
    plans: list[str] = []

    def explain(execute, sql, params, many, context):
        if re.search(r'"os_id" (IN \(|= ANY\()|g\.os_id =', sql):
            with connection.connection.cursor() as cursor:
                # Without a usable index, the planner still scans, whatever this says.
                cursor.execute("SET enable_seqscan = off")
                cursor.execute(f"EXPLAIN {sql}", params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
                cursor.execute("RESET enable_seqscan")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        supplier_import = upload(csv_upload("\n".join(lines) + "\n"))
        assert supplier_import.rows_matched == 1
        confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert Factory.objects.get(name="Huamei Garment").os_id == "CN2019067X1K87F"
    assert len(plans) == 2, plans  # the batch lookup, the fill-blank update
    for plan in plans:
        assert "factory_os_id_unique" in plan, plan
        assert "Seq Scan on suppliers_factory" not in plan, plan


def test_preview_rows_follow_deletes_without_database_checks(upload):
    """Preview rows' references are not checked by the database (a staging table), but a
    deleted factory still leaves no row pointing at it, and a deleted import no rows."""
    matched = Factory.objects.create(name="Huamei Garment", address="12 Road", country="CN")
    candidate = Factory.objects.create(name="Huamei Garmnt", address="12 Road", country="TR")
    supplier_import = upload(
        csv_upload("Name,Address,Country\nHuamei Garment,12 Road,CN\nHuamei Garment,12 Road,TR\n")
    )
    rows = {r.line: r for r in supplier_import.rows.all()}
    assert (rows[2].factory_id, rows[3].candidate_id) == (matched.pk, candidate.pk)
    matched.delete()
    candidate.delete()
    rows = {r.line: r for r in supplier_import.rows.all()}
    assert (rows[2].factory_id, rows[3].candidate_id) == (None, None)
    supplier_import.delete()
    assert not SupplierImportRow.objects.filter(supplier_import_id=supplier_import.pk).exists()


@pytest.mark.django_db(transaction=True)  # the links' foreign keys are checked at COMMIT
def test_a_confirm_naming_a_factory_deleted_behind_djangos_back_writes_nothing(upload, brand_staff):
    gone = Factory.objects.create(name="Gone Mill", address="3 Road", country="TR")
    supplier_import = upload(
        csv_upload("Name,Address,Country\nGone Mill,3 Road,TR\nOther Mill,4 Road,TR\n")
    )
    assert supplier_import.rows.get(line=2).factory_id == gone.pk
    with connection.cursor() as cursor:  # no cascade, no nulls
        cursor.execute("DELETE FROM suppliers_factory WHERE id = %s", [gone.pk])
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.FAILED
    assert "Nothing was written" in supplier_import.error_message
    assert not BrandSupplier.objects.exists()
    assert not Factory.objects.exists()


@pytest.mark.parametrize("threshold", [1, 1000])
def test_a_large_import_refreshes_the_planners_statistics(
    threshold, monkeypatch, upload, brand_staff, django_capture_on_commit_callbacks
):
    """After an import of ANALYZE_AFTER_ROWS or more commits, a task of its own analyses
    the supplier tables: PostgreSQL's row estimate (pg_class.reltuples) then counts the
    rows it wrote."""
    if connection.vendor != "postgresql":
        pytest.skip("ANALYZE is PostgreSQL's")
    monkeypatch.setattr(writing, "ANALYZE_AFTER_ROWS", threshold)
    tables = [Factory._meta.db_table, BrandSupplier._meta.db_table]

    def estimates():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [tables]
            )
            return dict(cursor.fetchall())

    with connection.cursor() as cursor:  # a known starting point
        for table in tables:
            cursor.execute(f"ANALYZE {table}")
    before = estimates()
    rows = "".join(f"Analysed Mill {n},{n} Road,BD\n" for n in range(4))
    supplier_import = upload(csv_upload("Name,Address,Country\n" + rows))
    with django_capture_on_commit_callbacks() as after_commit:
        done = confirm_import(supplier_import=supplier_import, user=brand_staff)
    assert done.status == Status.DONE
    assert estimates() == before  # the import is done before the statistics are in
    for callback in after_commit:
        callback()
    grown = 4 if threshold <= 4 else 0
    assert estimates() == {table: before[table] + grown for table in tables}


def test_statistics_that_cannot_be_refreshed_are_logged_and_left_to_autovacuum(monkeypatch, caplog):
    from django.db import DatabaseError

    from suppliers import tasks

    def failing(rows_written):
        raise DatabaseError("canceling statement due to lock timeout")

    monkeypatch.setattr(writing, "refresh_statistics", failing)
    assert tasks.refresh_statistics(50_000) is False
    assert "Could not analyse the supplier tables" in caplog.text
