"""A file is read a batch at a time, and what a batch needs of the rows before it (the same
factory, OS ID or supplier code given earlier) it asks of the stored preview rows: memory
stays the same whatever the file's length, and the outcome is the one a single pass gives."""

from __future__ import annotations

import pytest
from django.db import connection

from suppliers.importing import analysis, writing
from suppliers.importing.analysis import SeenFilter
from suppliers.importing.writing import PreviewWriter
from suppliers.models import Factory, SupplierImportRow
from tests.suppliers.conftest import csv_upload

Outcome = SupplierImportRow.Outcome

# Repeats of earlier rows by name and address, by OS ID, and supplier codes given twice.
REPEATS = (
    "Name,Address,Country,Supplier code,OS ID\n"
    "Huamei Garment,12 Industrial Road,CN,H-1,CN2019067X1K87F\n"  # 2: an existing factory
    "Anatolia Denim A.Ş.,1 Fabrika Yolu,TR,X-1,\n"  # 3
    "Other Mill,2 Road,TR,X-2,TR2020123ABCDEF\n"  # 4
    '"HUAMEI GARMENT CO., LTD.",12 Industrial Road,China,,\n'  # 5: line 2 again
    "ANATOLIA DENIM,1 Fabrika Yolu,Turkey,,\n"  # 6: line 3 again
    "Renamed Mill,9 Elsewhere,TR,X-9,TR2020123ABCDEF\n"  # 7: line 4's OS ID
    "Third Mill,3 Road,TR,X-1,\n"  # 8: line 3's code, another factory
    "Anatolia Denim,1 Fabrika Yolu,TR,X-5,\n"  # 9: line 3 again, a code of its own
    "Other Mill,2 Road,TR,X-1,\n"  # 10: line 4 again, with line 3's code
    "Fourth Mill,4 Road,TR,X-4,\n"  # 11
)


def _outcomes(supplier_import):
    return [
        (row.line, row.outcome, row.duplicate_of, row.factory_id, row.error_text)
        for row in supplier_import.rows.order_by("line")
    ]


@pytest.mark.parametrize(
    ("batch", "filter_bits"),
    [
        (1, analysis.FILTER_BITS),  # every row asks the rows stored before it
        (2, analysis.FILTER_BITS),
        (3, 8),  # a filter so small every row is a "maybe": the stored rows decide
    ],
)
def test_rows_before_the_batch_count_as_in_one_pass(path, upload, monkeypatch, batch, filter_bits):
    existing = Factory.objects.create(
        name="Huamei Garment", address="12 Industrial Road", country="CN"
    )
    one_pass = upload(csv_upload(REPEATS))
    expected = [
        (2, Outcome.MATCHED, None, existing.pk, ""),
        (3, Outcome.NEW, None, None, ""),
        (4, Outcome.NEW, None, None, ""),
        (5, Outcome.UNCHANGED, 2, existing.pk, ""),
        (6, Outcome.UNCHANGED, 3, None, ""),
        (7, Outcome.UNCHANGED, 4, None, ""),
        (
            8,
            Outcome.ERROR,
            None,
            None,
            "Supplier code: X-1 is also given to another factory on row 3",
        ),
        (9, Outcome.UNCHANGED, 3, None, ""),
        (
            10,
            Outcome.ERROR,
            None,
            None,
            "Supplier code: X-1 is also given to another factory on row 3",
        ),
        (11, Outcome.NEW, None, None, ""),
    ]
    assert _outcomes(one_pass) == expected

    monkeypatch.setattr(analysis, "BATCH", batch)
    monkeypatch.setattr(analysis, "FILTER_BITS", filter_bits)
    asked: list[tuple[int, int, int]] = []
    real_earlier = writing.PreviewWriter.earlier

    def earlier(self, keys, os_ids, codes):
        asked.append((len(keys), len(os_ids), len(codes)))
        return real_earlier(self, keys, os_ids, codes)

    monkeypatch.setattr(writing.PreviewWriter, "earlier", earlier)
    in_batches = upload(csv_upload(REPEATS))
    assert _outcomes(in_batches) == expected
    assert len(asked) == -(-10 // batch)  # once a batch


def test_a_filter_says_maybe_for_all_it_was_given_and_surely_not_for_most_else():
    given = [n * 0x9E3779B97F4A7C15 % (1 << 64) for n in range(1, 2000)]
    big = SeenFilter()
    big.add_all(given)
    assert all(big.maybe(n) for n in given)
    others = [n * 0xC2B2AE3D27D4EB4F % (1 << 64) for n in range(1, 2000)]
    assert sum(big.maybe(n) for n in others) < 20  # 2,000 set of 16 million bits
    tiny = SeenFilter(8)
    tiny.add_all(range(8))
    assert all(tiny.maybe(n) for n in others)  # full: a "maybe" for everything
    assert not any(SeenFilter().maybe(n) for n in given)  # empty: "surely not"
    assert all(SeenFilter(8).maybe(n) is False for n in range(-5, 5))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans are PostgreSQL's")
def test_earlier_rows_are_found_through_the_import_row_indexes(upload):
    """A batch's question about earlier rows uses an index for each of its parts, also as a
    prepared statement: a scan would read every row stored so far, for every batch."""
    supplier_import = upload(csv_upload(REPEATS))
    SupplierImportRow.objects.bulk_create(
        SupplierImportRow(
            supplier_import=supplier_import,
            line=100 + n,
            outcome=Outcome.NEW,
            row_key=f"{n:032x}",
            data={"supplier_code": f"S-{n}", **({"os_id": f"CN{n:07d}ABCDEF"} if n % 10 else {})},
        )
        for n in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE suppliers_supplierimportrow")
    plans: list[str] = []

    def explain(execute, sql, params, many, context):
        if "row_key" in sql and "supplier_code" in sql:
            with connection.connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN {sql}", params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        found = PreviewWriter(supplier_import).earlier(
            {f"{7:032x}", f"{8:032x}"}, {"CN0000011ABCDEF"}, {"S-12", "X-1"}
        )
    assert sorted(found) == [
        (3, supplier_import.rows.get(line=3).row_key, None, None, "X-1"),
        (107, f"{7:032x}", None, "CN0000007ABCDEF", "S-7"),
        (108, f"{8:032x}", None, "CN0000008ABCDEF", "S-8"),
        (111, f"{11:032x}", None, "CN0000011ABCDEF", "S-11"),
        (112, f"{12:032x}", None, "CN0000012ABCDEF", "S-12"),
    ]
    (plan,) = plans
    for index in ("import_row_key", "import_row_supplier_code", "import_row_os_id"):
        assert index in plan, plan
    assert "Seq Scan" not in plan, plan
