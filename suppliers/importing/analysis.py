"""Read a whole file into preview rows: validate, normalise, match, decide each outcome.

Nothing here touches Factory or BrandSupplier: the only writes are the preview rows, in
batches, so the confirm step can later write everything in one transaction. Rows travel as
small ``PreviewRow`` records (no model instances) and only a batch lives at a time. Each row
is decided on its own (against the portal and the brand's list); what it owes to the rows
around it (the same factory, OS ID or supplier code given earlier in the file) is decided
once the whole file is stored, by SQL over the stored rows (``writing.mark_repeats``): the
memory a file needs is the same whatever its length.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol, TypedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext as _

from suppliers.importing import ImportFileError
from suppliers.importing.changes import settle
from suppliers.importing.columns import BY_FIELD, REQUIRED, map_headers
from suppliers.importing.matching import MatchIndex, Probe
from suppliers.importing.normalise import country_code, identity, load_tables
from suppliers.importing.parsing import SPREADSHEET_CELL_CHARACTERS, Table
from suppliers.importing.preparing import CHUNK, prepared_chunks, young_garbage_only
from suppliers.importing.row_errors import row_error
from suppliers.models import BrandSupplier, Factory, SupplierImportRow

BATCH = 5000  # rows matched and stored at a time
_OS_ID = re.compile(r"^[A-Z]{2}\d{7}[0-9A-Z]{6}$")
_INTEGER = re.compile(r"^\d+$")
_RANGE = re.compile(r"^\d+[-–]\d+$")
_FORMULA_ESCAPE = re.compile(r"^'(?=[=+\-@\t\r])")
_SECTOR_ALIASES = {
    "garment": "garments",
    "apparel": "garments",
    "clothing": "garments",
    "textile": "textiles",
    "shoes": "footwear",
    "leather": "footwear",
    "food": "food",
    "furniture": "furniture",
    "wood": "furniture",
    "automotive": "automotive",
    "plastics": "chemicals",
    "chemical": "chemicals",
    "hotel": "hospitality",
    "tourism": "hospitality",
}


@cache
def _sector_lookup() -> dict[str, str]:
    """Sector codes, English labels, aliases, then the labels in each of the portal's
    languages; built under fixed languages, never the one active when first needed."""
    lookup = {value: value for value in Factory.Sector.values}
    with translation.override("en"):
        lookup.update({str(label).lower(): value for value, label in Factory.Sector.choices})
    lookup.update(_SECTOR_ALIASES)
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for value, label in Factory.Sector.choices:
                lookup.setdefault(str(label).lower(), value)
    return lookup


Outcome = SupplierImportRow.Outcome
# What an error row keeps of the row's values, besides the file's cells ("_cells").
_ERROR_VALUES = ("name", "address", "country", "supplier_code")
_MAX_LENGTH = {name: column.max_length for name, column in BY_FIELD.items()}


def clean_row(
    cells: list[str],
    mapping: dict[int, str],
    headers: list[str],
    header_of: dict[str, str] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The row's values, cleaned, and what is wrong with it (column as the file names it)."""
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    count = len(cells)
    for index, field_name in mapping.items():
        raw = cells[index] if index < count else ""
        if not raw:
            continue
        if raw[0] == "'":
            raw = _FORMULA_ESCAPE.sub("", raw)
        value = " ".join(raw.split())
        if not value.isascii():
            value = unicodedata.normalize("NFC", value)
        limit = _MAX_LENGTH[field_name]
        if len(value) > limit:
            errors.append(row_error(headers[index], "too_long", limit=limit, length=len(value)))
            value = value[:200] + "…"
        if value:
            values[field_name] = value
    if cells and max(map(len, cells)) > SPREADSHEET_CELL_CHARACTERS:
        errors += _overlong_ignored_cells(cells, mapping, headers)
    for column in REQUIRED:
        if not values.get(column.field):
            header = next((headers[i] for i, f in mapping.items() if f == column.field), "")
            errors.append(row_error(header or column.header, "required"))
    if errors:
        return values, errors
    if header_of is None:
        header_of = {f: headers[i] for i, f in mapping.items()}

    code = country_code(values["country"])
    if code is None:
        errors.append(row_error(header_of["country"], "unknown_country", value=values["country"]))
    else:
        values["country"] = code
    if "os_id" in values:
        os_id = values["os_id"].replace(" ", "").upper()
        if not _OS_ID.match(os_id):
            errors.append(row_error(header_of["os_id"], "os_id"))
        values["os_id"] = os_id
    for name in ("workers_total", "workers_women"):
        if name in values:
            number = values[name].replace(",", "").replace(" ", "").removesuffix(".0")
            if _RANGE.match(number):
                # A band ("1001-5000", as Open Supply Hub gives it) is no head count: left
                # blank, not an error that would cost the row.
                del values[name]
                continue
            if not _INTEGER.match(number) or len(number) > 9:
                errors.append(row_error(header_of[name], "not_whole_number"))
            else:
                values[name] = int(number)
    if (
        isinstance(values.get("workers_total"), int)
        and isinstance(values.get("workers_women"), int)
        and values["workers_women"] > values["workers_total"]
    ):
        errors.append(row_error(header_of["workers_women"], "more_women"))
    if "contact_email" in values:
        try:
            validate_email(values["contact_email"])
        except ValidationError:
            errors.append(row_error(header_of["contact_email"], "not_email"))
    if "sector" in values:
        values["sector"] = _sector_lookup().get(values["sector"].lower(), Factory.Sector.OTHER)
    return values, errors


def _overlong_ignored_cells(
    cells: list[str], mapping: dict[int, str], headers: list[str]
) -> list[dict[str, Any]]:
    """Cells of columns the import ignores that are longer than any spreadsheet cell: no
    spreadsheet wrote them, so the row is not what it seems (a quotation mark that opens and
    swallows the next lines, say). A column the import reads has its own, shorter limit."""
    limit = SPREADSHEET_CELL_CHARACTERS
    return [
        row_error(headers[index], "too_long", limit=limit, length=len(cell))
        if index < len(headers)
        else row_error("", "too_long_unnamed", number=index + 1, limit=limit, length=len(cell))
        for index, cell in enumerate(cells)
        if len(cell) > limit and index not in mapping
    ]


def _kept_cells(cells: list[str]) -> list[str]:
    """An error row's cells as stored for the download of rows to fix: a cell longer than a
    spreadsheet holds is cut there (it is the row's error; the database keeps no megabytes)."""
    limit = SPREADSHEET_CELL_CHARACTERS
    return [cell if len(cell) <= limit else cell[:limit] for cell in cells]


@dataclass(slots=True)
class PreviewRow:
    """One row as the preview will show it (stored as a SupplierImportRow)."""

    line: int
    outcome: str
    data: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)
    row_key: str = ""
    factory_id: int | None = None
    candidate_id: int | None = None
    score: int | None = None
    # The match keys as Factory stores them (``normalise.match_keys``).
    match_name: str = ""
    match_name_latin: str = ""
    match_address: str = ""
    # What the row changes on a factory already in the portal (``changes.settle``).
    changes: dict[str, Any] = field(default_factory=dict)
    duplicate_of: int | None = None  # marked once stored (``writing.mark_repeats``)


class MatchKeys(TypedDict):
    match_name: str
    match_name_latin: str
    match_address: str


@dataclass(slots=True)
class Prepared:
    """A valid row, cleaned and normalised, waiting for its outcome."""

    line: int
    # The file's cells (None once a helper process prepared the row: an error row has them
    # read again from the file, ``_keep_cells_of_clashes``).
    cells: list[str] | None
    values: dict[str, Any]
    probe: Probe  # the row's name, Latin name, city and address keys
    key: str

    def match_keys(self) -> MatchKeys:
        """The keys a Factory would store for this row (``normalise.match_keys``), from the
        keys already computed."""
        names = self.probe.names
        return {
            "match_name": names[0].encode(),
            "match_name_latin": names[1].encode() if len(names) > 1 else "",
            "match_address": self.probe.akey,
        }


class PreviewWriter(Protocol):
    """Where preview rows go (``suppliers.importing.writing.PreviewWriter``)."""

    import_id: int

    def add(self, rows: list[PreviewRow]) -> None: ...

    def sending(self) -> AbstractContextManager[Callable[[float], None]]: ...

    def close(self) -> None: ...

    def mark_repeats(self, *, column: str) -> None: ...

    def reopen(self) -> AbstractContextManager[Table]: ...


@dataclass
class Analysis:
    """Running state of one pass over a file."""

    index: MatchIndex
    headers: list[str]
    mapping: dict[int, str]
    header_of: dict[str, str] = field(init=False)

    brand_id: int = 0
    # The brand's codes: code -> (factory, its name, its country); ended links too (a row
    # with the code of a supplier that left the list puts it back).
    codes: dict[str, tuple[int, str, str]] = field(init=False)

    def __post_init__(self) -> None:
        self.header_of = {f: self.headers[i] for i, f in self.mapping.items()}
        self.codes = {
            code: (factory_id, name, country)
            for code, factory_id, name, country in BrandSupplier.objects.filter(
                brand_id=self.brand_id
            )
            .exclude(supplier_code="")
            .order_by()
            .values_list("supplier_code", "factory_id", "factory__name", "factory__country")
            .iterator(5000)
        }

    def load_tables(self) -> None:
        """Build what ``prepare`` looks values up in (once a process)."""
        load_tables()
        _sector_lookup()

    def prepare(self, line: int, cells: list[str]) -> PreviewRow | Prepared:
        """Clean and normalise a row: no database, no state (an error row is final here)."""
        values, errors = clean_row(cells, self.mapping, self.headers, self.header_of)
        if errors:
            return self._error_row(line, cells, values, errors)
        probe = Probe.of(values)
        key = identity(values["country"], probe.names[0], probe.city, probe.akey)
        return Prepared(line, cells, values, probe, key)

    def decide(self, prepared: Prepared) -> PreviewRow:
        """The match and the brand's supplier codes: the row's outcome, as if it were the
        file's only row (``writing.mark_repeats`` then marks repeats inside the file)."""
        line, cells, values = prepared.line, prepared.cells, prepared.values
        key = prepared.key
        code = values.get("supplier_code", "")
        header_of = self.header_of
        match = self.index.match(values, key, probe=prepared.probe)
        factory_id = match.factory_id
        owner = self.codes.get(code) if code else None
        if owner is not None and owner[0] != factory_id:
            # The brand's code names its supplier: the row is that factory, whatever its
            # name and address now say, unless it clearly names another factory.
            owner_id, owner_name, owner_country = owner
            refusal = None
            if owner_country != values["country"]:
                refusal = row_error(
                    header_of["supplier_code"],
                    "code_other_country",
                    code=code,
                    factory=owner_name,
                    country=owner_country,
                    name=values["name"],
                    row_country=values["country"],
                )
            elif factory_id is not None:
                refusal = row_error(
                    header_of["supplier_code"],
                    "code_other_factory",
                    code=code,
                    factory=owner_name,
                    name=values["name"],
                )
            if refusal is not None:
                return self._error_row(line, cells, values, [refusal])
            factory_id = owner_id
            match = type(match)(factory_id=owner_id, how="code")
        row = PreviewRow(
            line=line,
            outcome=Outcome.NEW,
            data=values,
            row_key=key,
            factory_id=factory_id,
            **prepared.match_keys(),
        )
        if factory_id is None and match.candidate_id is not None:
            row.outcome, row.candidate_id, row.score = (
                Outcome.REVIEW,
                match.candidate_id,
                match.score,
            )
        elif factory_id is None:
            row.outcome = Outcome.NEW
        else:
            # Matched, updated or unchanged: ``changes.settle`` decides, once per batch.
            row.outcome = Outcome.MATCHED
        return row

    def _error_row(
        self,
        line: int,
        cells: list[str] | None,
        values: dict[str, Any],
        errors: list[dict[str, Any]],
    ) -> PreviewRow:
        data = {k: v for k, v in values.items() if k in _ERROR_VALUES}
        if cells is not None:  # else read again from the file (``_keep_cells_of_clashes``)
            data["_cells"] = _kept_cells(cells)
        return PreviewRow(line=line, outcome=Outcome.ERROR, data=data, errors=errors)


def analyse_table(
    table: Table,
    *,
    brand_id: int,
    writer: PreviewWriter,
    progress: Callable[[float], None] = lambda fraction: None,
    parallel: bool = False,
) -> None:
    """Go through every row of ``table``, handing preview rows to ``writer`` in batches.

    Rows are cleaned and normalised (``Analysis.prepare``) a chunk at a time, by a helper
    process when ``parallel`` (``preparing``: a long list, on the machine's other core),
    here otherwise. Meanwhile the writer sends the previous batch's rows to the database
    (``sending``, so PostgreSQL stores them as the chunks come). Then, with the connection
    free again, the OS ID lookup the batch needs and the matching. Once every row is
    stored, the repeats inside the file are marked in the database."""
    mapping, _ignored = map_headers(table.headers)
    missing = [c.header for c in REQUIRED if c.field not in mapping.values()]
    if missing:
        raise ImportFileError(
            _(
                "Required columns missing: %(columns)s. The first row must name the columns "
                "(download the template to see them)."
            )
            % {"columns": ", ".join(missing)}
        )
    analysis = Analysis(
        index=MatchIndex(brand_id), headers=table.headers, mapping=mapping, brand_id=brand_id
    )
    any_rows = False
    position, rows_done = 0.0, 0
    size = min(CHUNK, BATCH)
    with (
        young_garbage_only() as collect,
        prepared_chunks(analysis, table, parallel=parallel, size=size) as chunks,
    ):
        while True:
            prepared: list[PreviewRow | Prepared] = []
            with writer.sending() as send:
                for end, chunk in itertools.islice(chunks, max(1, BATCH // size)):
                    prepared += chunk
                    position = end
                    send(len(prepared) / BATCH)
            if not prepared:
                break
            any_rows = True
            os_ids: set[str] = {
                os_id
                for p in prepared
                if isinstance(p, Prepared) and (os_id := p.values.get("os_id", ""))
            }
            if os_ids:
                analysis.index.load_os_ids(os_ids)
            decided = [p if isinstance(p, PreviewRow) else analysis.decide(p) for p in prepared]
            settle(decided, brand_id)
            writer.add(decided)
            progress(position)
            rows_done += len(decided)
            collect(rows_done)
    if not any_rows:
        writer.close()
        raise ImportFileError(_("The file has a header row but no supplier rows."))
    writer.mark_repeats(column=analysis.header_of.get("supplier_code", ""))
    _keep_cells_of_clashes(writer, table.headers)


def _keep_cells_of_clashes(writer: PreviewWriter, headers: list[str]) -> None:
    """An error row keeps the file's cells, for the download of rows to fix. A supplier code
    given to two factories is found only after the file is stored, and a helper process
    sends prepared rows without their cells: the cells of those rows (rare: most files have
    none) come from a second reading of the file, a batch of rows at a time, in line order."""
    import_id = writer.import_id
    clashes = (
        SupplierImportRow.objects.filter(supplier_import_id=import_id, outcome=Outcome.ERROR)
        .exclude(data__has_key="_cells")
        .order_by("line")
    )
    after = 0
    batch = list(clashes.filter(line__gt=after).only("id", "line", "data")[:BATCH])
    if not batch:
        return
    with writer.reopen() as table:
        rows: Iterator[tuple[int, list[str]]] = table.rows
        while batch:
            by_line = {row.line: row for row in batch}
            last = batch[-1].line
            for line, cells in rows:
                row = by_line.get(line)
                if row is not None:
                    row.data = {
                        **{k: row.data[k] for k in _ERROR_VALUES if k in row.data},
                        "_cells": cells,
                    }
                if line >= last:
                    break
            SupplierImportRow.objects.bulk_update(batch, ["data"], batch_size=1000)
            after = last
            batch = list(clashes.filter(line__gt=after).only("id", "line", "data")[:BATCH])
