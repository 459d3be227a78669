"""A long list is read by two processes (``suppliers.importing.preparing``): a helper forked
from the importing process reads and prepares the rows while the importing process matches
and stores them. The preview is the one a single process gives, row for row; a bad row, a
helper that dies and an import that stops are failures as clear as in one process, with no
rows left behind and no helper left running."""

from __future__ import annotations

import os
import random

import billiard.context
import pytest
from celery.exceptions import SoftTimeLimitExceeded

from suppliers.importing import analysis, preparing
from suppliers.models import BrandSupplier, Factory, SupplierImport, SupplierImportRow
from tests.suppliers.conftest import csv_upload, fixture_file

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not preparing.can_fork(), reason="this platform does not fork"),
]
Status = SupplierImport.Status
Outcome = SupplierImportRow.Outcome
# Every stored column of a preview row but its id and its import.
COLUMNS = tuple(
    field.attname
    for field in SupplierImportRow._meta.concrete_fields
    if field.name not in ("id", "supplier_import")
)


class Recorded(preparing._Helper):
    """The helper, with what became of each one started."""

    started: list[Recorded] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Recorded.started.append(self)


@pytest.fixture
def helpers(monkeypatch):
    Recorded.started = []
    monkeypatch.setattr(preparing, "_Helper", Recorded)
    return Recorded.started


@pytest.fixture
def in_two_processes(settings):
    settings.SUPPLIER_IMPORT_PARALLEL_BYTES = 0
    settings.SUPPLIER_IMPORT_INLINE_BYTES = 1 << 30  # read here, not by the worker


def _mixed_list(rows: int) -> str:
    """Rows in four scripts, with errors, repeats, OS IDs and codes given twice."""
    rng = random.Random(7)
    names = [
        ("东莞{}华美制衣有限公司", "东莞市虎门镇{}号", "CN"),
        ("Özdemir {} Tekstil San. ve Tic. A.Ş.", "Organize Sanayi {}. Cad.", "Türkiye"),
        ("Công ty TNHH May {} Việt Tiến", "{} Lê Lợi, Quận 1", "Viet Nam"),
        ("Chattogram {} Garments Ltd.", "{} Port Road", "BD"),
    ]
    lines = ["Name,Address,Country,Supplier code,Workers,OS ID"]
    for i in range(rows):
        n = i - 9 if i % 17 == 0 and i > 9 else i  # a repeat of a row a little earlier
        name, address, country = names[n % 4]
        code = f"S-{n}" if i % 23 else "S-5"  # a code given to another factory
        workers = str(50 + n) if i % 31 else "many"  # not a whole number: an error
        os_id = f"CN{n:07d}OS{n % 10_000:04d}" if n % 4 == 0 and n % 3 == 0 else ""
        if i % 41 == 0:
            country = "Atlantis"  # an unknown country: an error
        lines.append(f'"{name.format(n)}","{address.format(n)}",{country},{code},{workers},{os_id}')
    rng.shuffle(lines[1:6])  # the first rows in another order (never the header)
    return "\n".join(lines) + "\n"


def _rows(supplier_import):
    return list(supplier_import.rows.order_by("line").values_list(*COLUMNS))


def _both_ways(upload, settings, file_of, helpers, brand):
    """The same file read in one process, then in two: (one, two) as stored rows."""
    # Rows 8 and 13 of ``_mixed_list`` are factories already in the portal; the brand's code
    # of row 22 (in Viet Nam) is its code for a factory in China: row 22 is an error.
    existing = Factory.objects.create(
        name="东莞8华美制衣有限公司", address="东莞市虎门镇8号", country="CN"
    )
    Factory.objects.create(
        name="Özdemir 13 Tekstil Ltd. Şti.", address="Organize Sanayi 13. Cad.", country="TR"
    )
    BrandSupplier.objects.create(brand=brand, factory=existing, supplier_code="S-22")
    settings.SUPPLIER_IMPORT_PARALLEL_BYTES = 1 << 30
    one = upload(file_of())
    assert not helpers
    settings.SUPPLIER_IMPORT_PARALLEL_BYTES = 0
    two = upload(file_of())
    assert len(helpers) == 1
    return one, two


@pytest.mark.parametrize("batch", [analysis.BATCH, 250, 3])
def test_two_processes_give_the_rows_one_process_gives(
    upload, settings, helpers, monkeypatch, batch, brand
):
    monkeypatch.setattr(analysis, "BATCH", batch)
    text = _mixed_list(1234)
    one, two = _both_ways(upload, settings, lambda: csv_upload(text), helpers, brand)
    assert one.status == two.status == Status.PREVIEWED
    stored = _rows(one)
    assert len(stored) == 1234
    outcome = COLUMNS.index("outcome")
    assert {row[outcome] for row in stored} >= {
        Outcome.NEW,
        Outcome.MATCHED,
        Outcome.UNCHANGED,
        Outcome.ERROR,
    }
    # Row for row, column for column: only the import they belong to differs.
    assert _rows(two) == stored
    # The row the brand's code refuses keeps the file's cells for the download, either way.
    refused = two.rows.get(line=24)  # the list's row 22 (the header is line 1)
    assert (refused.outcome, refused.errors[0]["code"]) == (Outcome.ERROR, "code_other_country")
    assert refused.data["_cells"][3] == "S-22"
    fields = ("rows_total", "rows_new", "rows_matched", "rows_unchanged", "rows_error")
    assert [getattr(two, f) for f in fields] == [getattr(one, f) for f in fields]
    helper = helpers[0]
    assert helper.process.pid != os.getpid()
    assert not helper.process.is_alive()
    assert helper.process.exitcode == 0


@pytest.mark.parametrize("name", ["suppliers.xlsx", "gb18030_tab.csv", "with_errors.csv"])
def test_two_processes_read_every_kind_of_file_as_one_does(upload, settings, helpers, name, brand):
    one, two = _both_ways(upload, settings, lambda: fixture_file(name), helpers, brand)
    assert (one.status, one.encoding) == (two.status, two.encoding)
    assert _rows(two) == _rows(one)


def test_a_bad_row_the_helper_reads_fails_the_import_as_in_one_process(
    upload, settings, helpers, brand
):
    good = "".join(f"Mill {n},{n} Road,TR\n" for n in range(450))
    # Row 452 opens a quotation mark that is never closed, past the first chunks the
    # helper sends: the csv reader gives up once the cell outgrows its limit.
    swallowed = "x" * 1000 + "\n"
    text = f'Name,Address,Country\n{good}"Bad Mill,1 Road,TR\n' + swallowed * 4300
    settings.SUPPLIER_IMPORT_INLINE_BYTES = len(text) * 2  # read here, not by the worker
    one, two = _both_ways(upload, settings, lambda: csv_upload(text), helpers, brand)
    assert two.status == one.status == Status.FAILED
    assert two.error_message == one.error_message
    assert one.error_message.startswith("Row 452 has a cell longer than")
    assert two.rows.count() == 0
    assert not helpers[0].process.is_alive()


def test_a_helper_that_dies_fails_the_import_and_leaves_no_rows(
    upload, in_two_processes, helpers, monkeypatch, caplog
):
    prepare = analysis.Analysis.prepare

    def dying(self, line, cells):
        if line == 640:
            os._exit(3)  # only ever the helper: this test reads in two processes
        return prepare(self, line, cells)

    monkeypatch.setattr(analysis.Analysis, "prepare", dying)
    supplier_import = upload(csv_upload(_mixed_list(1500)))
    assert supplier_import.status == Status.FAILED
    assert supplier_import.error_message.startswith("The file could not be read.")
    assert "exit code 3" in supplier_import.last_error
    assert supplier_import.rows.count() == 0
    assert not helpers[0].process.is_alive()


def test_a_helper_error_is_raised_in_the_import_with_its_traceback(
    upload, in_two_processes, helpers, monkeypatch
):
    prepare = analysis.Analysis.prepare

    def failing(self, line, cells):
        if line == 300:
            raise LookupError("a table the helper could not read")
        return prepare(self, line, cells)

    monkeypatch.setattr(analysis.Analysis, "prepare", failing)
    supplier_import = upload(csv_upload(_mixed_list(600)))
    assert supplier_import.status == Status.FAILED
    assert "a table the helper could not read" in supplier_import.last_error
    assert supplier_import.rows.count() == 0
    assert helpers[0].process.exitcode == 0


def test_an_import_that_stops_stops_its_helper(upload, in_two_processes, helpers, monkeypatch):
    """The worker's time limit while matching: the helper, still reading a long file and
    waiting on a full pipe, ends too."""
    decide = analysis.Analysis.decide
    calls = []

    def stopping(self, prepared):
        calls.append(prepared.line)
        if len(calls) == 120:
            raise SoftTimeLimitExceeded()
        return decide(self, prepared)

    monkeypatch.setattr(analysis.Analysis, "decide", stopping)
    supplier_import = upload(csv_upload(_mixed_list(20_000)))
    assert supplier_import.status == Status.FAILED
    assert supplier_import.error_message.startswith("The worker took too long with this list")
    assert supplier_import.rows.count() == 0
    helper = helpers[0]
    assert not helper.process.is_alive()
    assert len(calls) == 120  # it stopped there, not after reading the whole file


def test_a_list_is_read_in_one_process_when_no_helper_can_start(
    upload, settings, helpers, monkeypatch, brand, caplog
):
    """No fork now (memory, a process limit): the list is read all the same, in one
    process, and the admin's log says why it was slower."""
    text = _mixed_list(700)
    one, _ = _both_ways(upload, settings, lambda: csv_upload(text), helpers, brand)

    def no_fork(self):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(billiard.context.ForkProcess, "start", no_fork)
    alone = upload(csv_upload(text))
    assert alone.status == Status.PREVIEWED
    assert _rows(alone) == _rows(one)
    assert "Could not start a helper process" in caplog.text
