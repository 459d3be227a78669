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


# Open Supply Hub's facility-list upload columns, as its list processing reads them
# (github.com/opensupplyhub/open-supply-hub: the list header in
# src/django/api/fixtures/facility_lists.json, "country,name,address,sector,...", and the
# extended fields of src/react/src/components/ProductionLocation/constants.jsx and
# src/django/api/models/extended_field.py: product_type, processing_type, facility_type,
# number_of_workers, parent_company). country, name and address are required there.
OSH_HEADERS = [
    "country",
    "name",
    "address",
    "sector",
    "product_type",
    "facility_type",
    "processing_type",
    "number_of_workers",
    "parent_company",
]


def osh_rows(links: QuerySet[BrandSupplier]) -> Iterator[list[str]]:
    """Each factory on the lists once (a facility list names a facility once), its name in
    Latin script where the portal has one, the sector's English label."""
    from django.utils import translation

    from suppliers.models import Factory

    with translation.override("en"):
        sectors = {value: str(label) for value, label in Factory.Sector.choices}
    rows = (
        Factory.objects.filter(pk__in=links.values("factory_id"))
        .order_by("country", "name", "pk")
        .values_list(
            "country",
            "name",
            "name_latin",
            "address",
            "city",
            "sector",
            "product_type",
            "workers_total",
            "parent_company",
        )
        .iterator(chunk_size=2000)
    )
    for country, name, latin, address, city, sector, product, workers, parent in rows:
        full_address = f"{address}, {city}" if city and city not in address else address
        yield [
            neutralise(value)
            for value in (
                country,
                latin or name,
                full_address,
                sectors.get(sector, ""),
                product,
                "",
                "",
                "" if workers is None else workers,
                parent,
            )
        ]
