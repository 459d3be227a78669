"""The PostgreSQL fast path (COPY preview rows, set-based confirm) and the portable ORM path
give the same preview and write the same rows; blocking and normalising helpers."""

from __future__ import annotations

import random
import re

import pytest
from django.db import connection

from suppliers.importing import matching, writing
from suppliers.importing.normalise import (
    _LEGAL_PREFIXES,
    _LEGAL_SUFFIXES,
    _strip,
    name_words,
    to_ascii,
    tokens,
)
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


def test_both_paths_preview_and_write_the_same(path, upload, brand, other_brand, brand_staff):
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
    assert writing.fast_path() is (path == "copy")
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
    assert rows[4].data["name"] == "东莞华美制衣有限公司"
    assert (rows[5].duplicate_of, rows[5].factory_id) == (3, None)
    assert rows[6].error_text == "Supplier code: T-1 is also given to another factory on row 2"
    assert rows[6].data["_cells"] == ["Other Mill", "2 Road", "TR", "T-1", "", "", "", ""]
    assert rows[7].error_text == "Country: “Atlantis” is not a country we know"
    assert (rows[8].factory_id, rows[8].row_key) == (by_os_id.pk, rows[8].row_key)
    assert (rows[9].candidate_id, rows[9].score) == (dokuma.pk, rows[9].score)
    assert rows[9].score >= 85
    assert len(rows[2].row_key) == 32

    rows[9].outcome = Outcome.NEW  # as if rejected: the preview asks first
    rows[9].candidate_id = None
    rows[9].save()
    supplier_import.rows_review = 0
    supplier_import.rows_new += 1
    supplier_import.save()
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    supplier_import.refresh_from_db()
    assert supplier_import.status == Status.DONE, supplier_import.error_message

    new = list(
        Factory.objects.exclude(pk__in=[denim.pk, by_os_id.pk, dokuma.pk])
        .order_by("pk")
        .values_list("name", "address", "country", "os_id", "language", "workers_total")
    )
    assert new == [
        ('Back\\slash "Quoted" Mill', "Road with tab", "BD", "", "en", None),
        ("东莞华美制衣有限公司", "工业路1号", "CN", "CN2019067X1K87E", "en", None),
        ("Anadolu Dokumaa", "9 Sanayi Cad Bursa", "TR", "", "en", None),
    ]
    denim.refresh_from_db()
    assert (denim.city, denim.workers_total, denim.workers_women) == ("Bursa", 120, 60)
    codes = dict(
        BrandSupplier.objects.filter(brand=brand).values_list("factory__name", "supplier_code")
    )
    assert codes == {
        "Anatolia Denim Tekstil": "T-1",
        'Back\\slash "Quoted" Mill': "T-2",
        "东莞华美制衣有限公司": "T-3",
        "Something Else": "T-4",
        "Anadolu Dokumaa": "T-5",
    }
    # Brand B's own link and code are untouched.
    assert BrandSupplier.objects.get(brand=other_brand).supplier_code == "B-1"
    created = BrandSupplier.objects.filter(brand=brand).exclude(factory=by_os_id)
    assert set(created.values_list("source_import", flat=True)) == {supplier_import.pk}


def test_blanks_are_filled_but_never_overwritten(path, upload, brand_staff):
    factory = Factory.objects.create(
        name="Huamei Garment", address="12 Industrial Road", country="CN", city="Dongguan"
    )
    Factory.objects.create(name="Taken", address="1 Road", country="CN", os_id="CN2019067X1K87E")
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,City,Sector,OS ID,Workers\n"
            "Huamei Garment Co Ltd,12 Industrial Rd,CN,Shenzhen,apparel,CN2019067X1K87F,300\n"
        )
    )
    assert supplier_import.rows.get().outcome == Outcome.MATCHED
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    factory.refresh_from_db()
    assert (factory.city, factory.sector, factory.os_id, factory.workers_total) == (
        "Dongguan",
        "garments",
        "CN2019067X1K87F",
        300,
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_sql_confirm_failing_midway_leaves_the_database_as_before(upload, brand_staff, monkeypatch):
    Factory.objects.create(name="Anatolia Denim Tekstil", address="1 Fabrika Yolu", country="TR")
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,Supplier code\n"
            "Anatolia Denim Tekstil,1 Fabrika Yolu,TR,A-1\n"
            "New Mill,2 Road,TR,A-2\n"
        )
    )
    assert (supplier_import.rows_new, supplier_import.rows_matched) == (1, 1)
    steps: list[str] = []
    original = writing._insert_new_factories

    def insert_then_note(*args, **kwargs):
        original(*args, **kwargs)
        steps.append("inserted")
        assert Factory.objects.count() == 2  # written, inside the transaction

    def failing(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writing, "_insert_new_factories", insert_then_note)
    monkeypatch.setattr(writing, "_link_existing_sql", failing)
    confirm_import(supplier_import=supplier_import, user=brand_staff)
    supplier_import.refresh_from_db()
    assert steps == ["inserted"]
    assert supplier_import.status == Status.FAILED
    assert supplier_import.error_message == (
        "The import failed and nothing was written. Try again later."
    )
    assert (Factory.objects.count(), BrandSupplier.objects.count()) == (1, 0)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_code_taken_meanwhile_fails_the_sql_confirm_cleanly(upload, brand, brand_staff):
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


def test_oversized_blocks_are_searched_by_a_longer_prefix(monkeypatch):
    monkeypatch.setattr(matching, "MAX_BLOCK", 2)
    index = matching.CountryIndex()
    for factory_id, name in enumerate(
        ["huameigarment", "huangdatextile", "huaxinknitting", "huameishoes"], start=1
    ):
        index.add(name, "12industrialroad", factory_id, [name])
    assert index.candidates("|hua", "huameigarmnt") == [0, 3]
    assert index.candidates("|hua", "huaxin") == [2]
    # A small block is returned whole.
    index.add("dongguanmill", "1road", 9, ["dongguan", "mill"])
    assert index.candidates("|mil", "mill") == [4]


def test_a_block_of_one_name_holds_its_bare_position_until_a_second_joins():
    index = matching.CountryIndex()
    index.add("dongguanhuamei", "12road", 7, ["dongguan", "huamei"])
    # By its start, and by its rest after the first word (the position, inverted).
    assert index.blocks == {"|don": 0, "|hua": ~0}
    assert index.candidates("|hua", "huamei") == [0]
    assert index.candidates("|don", "dongguanhuamei") == [0]
    index.add("huameitextile", "3road", 8, ["huamei", "textile"])
    assert index.blocks["|hua"] == [~0, 1]
    assert index.candidates("|hua", "huamei") == [0, 1]
    assert index.candidates("|xyz", "xyz") == []
    assert (list(index.ids), list(index.first_lengths)) == ([7, 8], [8, 6])


def test_names_with_digits_only_meet_names_with_the_same_digits():
    assert matching.block_keys(["mill", "12"]) == {"12|mil": "mill12", "12|12": "12"}
    assert matching.block_keys(["huamei", "garment"]) == {
        "|hua": "huameigarment",
        "|gar": "garment",
    }


def _strip_by_scanning(words: list[str]) -> list[str]:
    """The plain scan the lookup replaced: first listed legal form first."""
    changed = True
    while changed and words:
        changed = False
        for suffix in _LEGAL_SUFFIXES:
            n = len(suffix)
            if len(words) > n and tuple(words[-n:]) == suffix:
                del words[-n:]
                changed = True
                break
        for prefix in _LEGAL_PREFIXES:
            n = len(prefix)
            if len(words) > n and tuple(words[:n]) == prefix:
                del words[:n]
                changed = True
                break
    return words


@pytest.mark.parametrize(
    "name",
    [
        "Foo San. ve Tic. A.Ş.",
        "Foo San ve Tic Ltd Sti",
        "Công ty TNHH MTV Foo",
        "Cong ty co phan Foo JSC",
        "PT Foo Tbk",
        "东莞华美制衣有限公司",
        "广州股份有限公司",
        "A S",
        "Co Ltd",
        "Foo Company Limited Co",
        "Foo Sdn Bhd",
        "PT CV Foo Co",
    ],
)
def test_legal_forms_strip_as_the_plain_scan_did(name):
    assert name_words(name) == _strip_by_scanning(tokens(name))


def _tokens_in_three_passes(text: str) -> list[str]:
    """What tokens() did before its one-pass regex: transliterate (Chinese syllables split
    at lower/upper case), lowercase, "&" as "and", anything else but letters and digits a
    space."""
    ascii_text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", to_ascii(text))
    return re.sub(r"[^a-z0-9]+", " ", ascii_text.lower().replace("&", " and ")).split()


def test_tokens_split_as_the_three_passes_did():
    rng = random.Random(4)
    alphabet = "aAzZ09 &._-'ÖöİıŞşĐđ华美号ǅǄǆß\u0300\uff21\t"
    texts = [
        "DongGuan HuaMei",
        "a1bC2 A&B abcDEF ABCdef x&&y",
        "McDonald's",
        "东莞华美制衣有限公司",
        "Công ty TNHH Việt Tiến",
        *("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(5000)),
    ]
    for text in texts:
        assert tokens(text) == _tokens_in_three_passes(text), text


@pytest.mark.parametrize(
    "value",
    [
        {"name": 'Back\\slash "Quoted"\tMill', "country": "BD", "workers_total": 120},
        {"name": "东莞华美制衣", "address": "\u2028line\x01"},
        {"name": "Other", "_cells": ["a", "b\\"]},
        [{"column": "Country", "message": "“Atlantis” is not a country we know"}],
    ],
)
def test_copy_json_is_the_json_encoders(value):
    assert writing._json_field(value) == writing._json(value).replace("\\", "\\\\")


def test_legal_forms_strip_as_the_plain_scan_did_for_any_mix_of_their_words():
    rng = random.Random(7)
    vocabulary = sorted({w for form in (*_LEGAL_SUFFIXES, *_LEGAL_PREFIXES) for w in form})
    vocabulary += ["huamei", "mill", "12"]
    for _ in range(20000):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 9))]
        assert _strip(list(words)) == _strip_by_scanning(list(words)), words


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
        if re.search(r'"os_id" IN \(|g\.os_id =', sql):
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


def test_preview_rows_follow_deletes_without_database_checks(path, upload):
    """Preview rows' references are not checked by the database (a staging table), but a
    deleted factory still leaves no row pointing at it, and a deleted import no rows."""
    matched = Factory.objects.create(name="Huamei Garment", address="12 Road", country="CN")
    candidate = Factory.objects.create(name="Huamei Garments", address="12 Road", country="TR")
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
def test_a_confirm_naming_a_factory_deleted_behind_djangos_back_writes_nothing(
    path, upload, brand_staff
):
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
    threshold, monkeypatch, upload, brand_staff
):
    """After an import of ANALYZE_AFTER_ROWS or more, the supplier tables are analysed:
    PostgreSQL's row estimate (pg_class.reltuples) then counts the rows it wrote."""
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
    done = confirm_import(
        supplier_import=upload(csv_upload("Name,Address,Country\n" + rows)), user=brand_staff
    )
    assert done.status == Status.DONE
    grown = 4 if threshold <= 4 else 0
    assert estimates() == {table: before[table] + grown for table in tables}
