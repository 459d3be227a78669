"""A file is read a batch at a time and each row decided on its own; repeats inside the file
(the same factory again, by name and address or by OS ID, and a supplier code given to two
factories) are marked by SQL over the stored rows once the whole file is in. Memory stays the
same whatever the file's length, and the outcome does not depend on the batch size."""

from __future__ import annotations

import pytest

from suppliers.importing import analysis
from suppliers.models import Factory, SupplierImportRow
from tests.suppliers.conftest import csv_upload

pytestmark = pytest.mark.django_db
Outcome = SupplierImportRow.Outcome
X1_ON_ROW_3 = "Supplier code: X-1 is also given to another factory on row 3"

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


@pytest.mark.parametrize("batch", [1, 2, 3, analysis.BATCH])
def test_repeats_inside_the_file_are_marked_whatever_the_batch_size(upload, monkeypatch, batch):
    existing = Factory.objects.create(
        name="Huamei Garment", address="12 Industrial Road", country="CN"
    )
    monkeypatch.setattr(analysis, "BATCH", batch)
    supplier_import = upload(csv_upload(REPEATS))
    assert _outcomes(supplier_import) == [
        (2, Outcome.MATCHED, None, existing.pk, ""),
        (3, Outcome.NEW, None, None, ""),
        (4, Outcome.NEW, None, None, ""),
        (5, Outcome.UNCHANGED, 2, existing.pk, ""),
        (6, Outcome.UNCHANGED, 3, None, ""),
        (7, Outcome.UNCHANGED, 4, None, ""),
        (8, Outcome.ERROR, None, None, X1_ON_ROW_3),
        (9, Outcome.UNCHANGED, 3, None, ""),
        (10, Outcome.ERROR, None, None, X1_ON_ROW_3),
        (11, Outcome.NEW, None, None, ""),
    ]
    assert (supplier_import.rows_new, supplier_import.rows_matched) == (3, 1)
    assert (supplier_import.rows_unchanged, supplier_import.rows_error) == (4, 2)
    # An error row keeps the file's cells for the download, and no match keys.
    clash = supplier_import.rows.get(line=10)
    assert clash.data == {
        "name": "Other Mill",
        "address": "2 Road",
        "country": "TR",
        "supplier_code": "X-1",
        "_cells": ["Other Mill", "2 Road", "TR", "X-1", ""],
    }
    assert (clash.row_key, clash.match_name, clash.match_address) == ("", "", "")


def test_a_row_whose_code_clashes_leaves_its_factory_to_the_next_row(upload, brand_staff):
    """The row that gives a code already given to another factory is an error; the next
    row of its factory, with a code of its own, is the one that counts."""
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,Supplier code\n"
            "First Mill,1 Road,TR,X-1\n"  # 2
            "Second Mill,2 Road,TR,X-1\n"  # 3: X-1 is line 2's
            "Second Mill,2 Road,TR,X-2\n"  # 4: counts for Second Mill
            "Second Mill,2 Road,TR,\n"  # 5: repeats line 4
        )
    )
    assert _outcomes(supplier_import) == [
        (2, Outcome.NEW, None, None, ""),
        (
            3,
            Outcome.ERROR,
            None,
            None,
            "Supplier code: X-1 is also given to another factory on row 2",
        ),
        (4, Outcome.NEW, None, None, ""),
        (5, Outcome.UNCHANGED, 4, None, ""),
    ]


def test_rows_of_one_factory_by_os_id_share_its_first_row(upload):
    """Line 3 is line 2's factory by OS ID; line 4 repeats line 3's name and address, so it
    is that factory too. The same code given again within one factory is no clash."""
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,Supplier code,OS ID\n"
            "Old Name Mill,1 Road,TR,X-1,TR2020123ABCDEF\n"  # 2
            "New Name Mill,9 Street,TR,X-1,TR2020123ABCDEF\n"  # 3: line 2 by OS ID
            "New Name Mill,9 Street,TR,X-3,\n"  # 4: line 3 by name and address
            "Other Mill,5 Road,TR,X-4,TR2020123ABCDEF\n"  # 5: line 2 by OS ID
        )
    )
    assert _outcomes(supplier_import) == [
        (2, Outcome.NEW, None, None, ""),
        (3, Outcome.UNCHANGED, 2, None, ""),
        (4, Outcome.UNCHANGED, 2, None, ""),
        (5, Outcome.UNCHANGED, 2, None, ""),
    ]


def test_a_code_is_the_factory_of_the_first_row_that_gives_it(upload):
    """A repeat that brings a code still gives it to its factory: a later row giving the
    same code to another factory is an error naming the repeat's line."""
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,Supplier code\n"
            "First Mill,1 Road,TR,\n"  # 2
            "First Mill,1 Road,TR,X-7\n"  # 3: repeats line 2, gives X-7
            "Second Mill,2 Road,TR,X-7\n"  # 4
        )
    )
    assert _outcomes(supplier_import) == [
        (2, Outcome.NEW, None, None, ""),
        (3, Outcome.UNCHANGED, 2, None, ""),
        (
            4,
            Outcome.ERROR,
            None,
            None,
            "Supplier code: X-7 is also given to another factory on row 3",
        ),
    ]


def test_repeats_follow_the_factory_their_first_row_matched(upload, brand):
    existing = Factory.objects.create(name="Huamei Garment", address="12 Road", country="CN")
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,OS ID\n"
            "Huamei Garment,12 Road,CN,CN2019067X1K87F\n"  # 2: matched by name and address
            "Huamei Textile,40 Road,CN,CN2019067X1K87F\n"  # 3: line 2 by OS ID
        )
    )
    assert _outcomes(supplier_import) == [
        (2, Outcome.MATCHED, None, existing.pk, ""),
        (3, Outcome.UNCHANGED, 2, existing.pk, ""),
    ]


def test_error_rows_take_no_part_in_repeats(upload):
    """A row with an error is no factory: a later row of the same name and address counts,
    and a later row of the same code is no clash."""
    supplier_import = upload(
        csv_upload(
            "Name,Address,Country,Supplier code,Workers\n"
            "First Mill,1 Road,TR,X-1,many\n"  # 2: not a number
            "First Mill,1 Road,TR,X-1,10\n"  # 3
        )
    )
    assert _outcomes(supplier_import) == [
        (2, Outcome.ERROR, None, None, "Workers: not a whole number"),
        (3, Outcome.NEW, None, None, ""),
    ]
