"""A brand's supplier list as CSV or XLSX, safe to open in Excel."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from suppliers.importing.columns import COLUMNS
from suppliers.models import BrandSupplier

# A cell starting with one of these is a formula (or becomes one) in Excel and LibreOffice.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """Text that no spreadsheet will run: a leading formula character gets a quote first."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


HEADERS = ["Brand", *(c.header for c in COLUMNS)]


def supplier_rows(links: QuerySet[BrandSupplier]) -> Iterator[list[str]]:
    for link in links.select_related("factory", "brand").order_by("brand__name", "factory__name"):
        factory = link.factory
        values = {
            "supplier_code": link.supplier_code,
            "country": factory.country.code,
            **{
                c.field: getattr(factory, c.field)
                for c in COLUMNS
                if c.field not in ("supplier_code", "country")
            },
        }
        yield [neutralise(link.brand.name), *(neutralise(values[c.field]) for c in COLUMNS)]


def as_csv(rows: Iterable[list[str]], headers: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def as_xlsx(rows: Iterable[list[str]], headers: list[str]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Suppliers")
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
