"""A brand's supplier list as CSV or XLSX, safe to open in Excel."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db.models import QuerySet

from suppliers.importing.columns import COLUMNS
from suppliers.models import BrandSupplier

# A cell starting with one of these is a formula (or becomes one) in Excel and LibreOffice.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """Text that no spreadsheet will run: a leading formula character gets a quote first."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def cell(value: object) -> object:
    """A value as a spreadsheet cell: numbers stay numbers (Excel sums a column of workers),
    text is neutralised."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    return neutralise(value)


HEADERS = ["Brand", *(c.header for c in COLUMNS)]


def supplier_rows(links: QuerySet[BrandSupplier]) -> Iterator[list[object]]:
    """Each supplier-list row as the export writes it, read in chunks (a brand's list can
    hold 100,000 factories: as model instances at once they took 340 MB and 5 s)."""
    fields = [
        "supplier_code" if c.field == "supplier_code" else f"factory__{c.field}" for c in COLUMNS
    ]
    rows = (
        links.order_by("brand__name", "factory__name", "pk")
        .values_list("brand__name", *fields)
        .iterator(chunk_size=2000)
    )
    for brand, *values in rows:
        yield [neutralise(brand), *(cell(value) for value in values)]


class _Echo:
    """A file-like sink for ``csv.writer`` that hands each line back."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[object]], headers: list[str]) -> Iterator[str]:
    """CSV a line at a time, for a streaming response; the BOM first makes Excel read
    UTF-8."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(headers)
    for row in rows:
        yield writer.writerow(row)


def as_csv(rows: Iterable[list[object]], headers: list[str]) -> bytes:
    """The same CSV at once, for a small file (the template)."""
    return "".join(csv_lines(rows, headers)).encode("utf-8")


def as_xlsx(rows: Iterable[list[object]], headers: list[str]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Suppliers")
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
