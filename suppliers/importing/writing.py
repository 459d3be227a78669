"""Store preview rows; write a confirmed import: new factories, brand links, codes, blanks.

The caller holds one transaction around ``write_rows``: any failure leaves the database as
it was. On PostgreSQL preview rows go in with ``COPY … FROM STDIN`` and the confirm step is a
few set-based statements over the stored preview rows (the rows never come back to Python);
elsewhere (SQLite, the embedded default) rows are read and written in chunks with bulk ORM
statements. Either way time grows linearly and memory stays flat.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Q

from suppliers.importing.matching import FILLABLE
from suppliers.importing.normalise import KEYS_VERSION, keys_source
from suppliers.models import (
    MATCH_FIELDS,
    BrandSupplier,
    Factory,
    RowValue,
    SupplierImport,
    SupplierImportRow,
)

if TYPE_CHECKING:
    from suppliers.importing.analysis import PreviewRow

CHUNK = 5000
# Tests turn this off to run the portable path on PostgreSQL too.
USE_COPY = True
Outcome = SupplierImportRow.Outcome
WRITTEN = (Outcome.NEW, Outcome.MATCHED, Outcome.UPDATED)
FACTORY_FIELDS = (
    "name",
    "name_latin",
    "address",
    "city",
    "country",
    "sector",
    "product_type",
    "workers_total",
    "workers_women",
    "os_id",
    "parent_company",
    "contact_name",
    "contact_email",
    "contact_phone",
)


def fast_path() -> bool:
    """COPY and set-based SQL: PostgreSQL only."""
    return USE_COPY and connection.vendor == "postgresql"


class PreviewWriter:
    """Stores an import's preview rows as the analysis hands them over in batches.

    On PostgreSQL a batch is kept as COPY text and sent during ``sending()``, a piece at a
    time, while the analysis reads the next batch: the server stores rows on one core while
    Python reads on the other. Elsewhere each batch is written at once with bulk_create."""

    def __init__(self, supplier_import: SupplierImport) -> None:
        self.import_id = supplier_import.pk
        self.copy = fast_path()
        self.pending: list[PreviewRow] = []

    def add(self, rows: list[PreviewRow]) -> None:
        if self.copy:
            self.pending.extend(rows)
        else:
            _create_rows(self.import_id, rows)

    @contextmanager
    def sending(self) -> Iterator[Callable[[float], None]]:
        """COPY the pending rows; the caller says how far through its own work it is, and
        as much of the batch goes out. Leaving the block sends the rest and ends the COPY
        (so the connection is free for queries again)."""
        rows, self.pending = self.pending, []
        if not rows:
            yield lambda fraction: None
            return
        sent = 0
        with _copy(self.import_id) as write:

            def send(fraction: float) -> None:
                nonlocal sent
                upto = min(len(rows), int(len(rows) * fraction) + 1)
                if upto > sent:
                    write(rows[sent:upto])
                    sent = upto

            yield send
            write(rows[sent:])

    def close(self) -> None:
        with self.sending():
            pass

    def earlier(
        self, keys: Collection[str], os_ids: Collection[str], codes: Collection[str]
    ) -> list[tuple[int, str, int | None, str | None, str | None]]:
        """Stored rows of this import that count (neither an error nor a repeat) and give
        one of these row keys, OS IDs or supplier codes: (line, row key, factory id, OS ID,
        supplier code) each. Pending rows are sent first."""
        if self.pending:
            self.close()
        if not (keys or os_ids or codes):
            return []
        given = Q()
        if keys:
            given |= Q(row_key__in=keys)
        if os_ids:
            given |= Q(given_os_id__in=os_ids)
        if codes:
            given |= Q(given_code__in=codes)
        return list(
            SupplierImportRow.objects.filter(
                supplier_import_id=self.import_id, duplicate_of__isnull=True
            )
            .exclude(outcome=Outcome.ERROR)
            .annotate(given_os_id=RowValue("os_id"), given_code=RowValue("supplier_code"))
            .filter(given)
            .order_by()
            .values_list("line", "row_key", "factory_id", "given_os_id", "given_code")
        )


def save_rows(supplier_import: SupplierImport, rows: list[PreviewRow]) -> None:
    """Store a batch of preview rows at once."""
    writer = PreviewWriter(supplier_import)
    writer.add(rows)
    writer.close()


def _create_rows(import_id: int, rows: list[PreviewRow]) -> None:
    SupplierImportRow.objects.bulk_create(
        [
            SupplierImportRow(
                supplier_import_id=import_id,
                line=row.line,
                outcome=row.outcome,
                data=row.data,
                errors=row.errors,
                row_key=row.row_key,
                factory_id=row.factory_id,
                candidate_id=row.candidate_id,
                score=row.score,
                duplicate_of=row.duplicate_of,
                match_name=row.match_name,
                match_name_latin=row.match_name_latin,
                match_address=row.match_address,
            )
            for row in rows
        ],
        batch_size=1000,
    )


_ROW_COLUMNS = (
    "supplier_import_id",
    "line",
    "outcome",
    "data",
    "errors",
    "row_key",
    "factory_id",
    "candidate_id",
    "score",
    "duplicate_of",
    "match_name",
    "match_name_latin",
    "match_address",
)
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_json_string = encode_basestring  # a JSON string, quoted, non-ASCII kept as it is


def _json_object(values: dict[str, Any]) -> str:
    """``_json`` of a row's values, faster for the usual flat text and number values."""
    parts = []
    for key, value in values.items():
        kind = type(value)
        if kind is str:
            parts.append(f"{_json_string(key)}:{_json_string(value)}")
        elif kind is int:
            parts.append(f"{_json_string(key)}:{value}")
        else:
            return _json(values)
    return "{" + ",".join(parts) + "}"


def _json_field(value: object) -> str:
    # JSON escapes every control character, so only the backslash needs COPY's escaping.
    text = _json_object(value) if type(value) is dict else _json(value)
    return text.replace("\\", "\\\\") if "\\" in text else text


def _number(value: int | None) -> str:
    return "\\N" if value is None else str(value)


@contextmanager
def _copy(import_id: int) -> Iterator[Callable[[list[PreviewRow]], None]]:
    """A COPY into the preview-row table, in PostgreSQL's text format."""
    table = connection.ops.quote_name(SupplierImportRow._meta.db_table)
    prefix = f"{import_id}\t"

    def write(rows: list[PreviewRow]) -> None:
        if rows:
            copy.write(
                "".join(
                    [
                        f"{prefix}{row.line}\t{row.outcome}\t{_json_field(row.data)}\t"
                        f"{_json_field(row.errors) if row.errors else '[]'}\t{row.row_key}\t"
                        f"{_number(row.factory_id)}\t"
                        f"{_number(row.candidate_id)}\t{_number(row.score)}\t"
                        f"{_number(row.duplicate_of)}\t{row.match_name}\t"
                        f"{row.match_name_latin}\t{row.match_address}\n"
                        for row in rows
                    ]
                )
            )

    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3
        with raw.copy(f"COPY {table} ({', '.join(_ROW_COLUMNS)}) FROM STDIN") as copy:
            yield write


# A large import leaves the planner's statistics behind until autovacuum analyses the tables
# (about a minute later); meanwhile the brand's supplier list took 0.2 s instead of 59 ms
# and the matrix 0.1 s instead of 19 ms. ANALYZE reads a fixed sample (30,000 rows a table
# at the default statistics target), so it costs a fraction of a second at any size.
ANALYZE_AFTER_ROWS = 5000


def refresh_statistics(rows_written: int) -> bool:
    """ANALYZE the tables a large import wrote to (PostgreSQL); True if it did."""
    if connection.vendor != "postgresql" or rows_written < ANALYZE_AFTER_ROWS:
        return False
    # A savepoint: if ANALYZE fails, an enclosing transaction can go on.
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (Factory, BrandSupplier):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return True


def _chunks(rows: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _new_factory(values: dict[str, Any], keys: tuple[str, str, str]) -> Factory:
    factory = Factory(
        **{
            f: values.get(f, "" if f not in ("workers_total", "workers_women") else None)
            for f in FACTORY_FIELDS
        }
    )
    # The keys the preview computed (bulk_create does not call save()).
    factory.match_name, factory.match_name_latin, factory.match_address = keys
    factory.match_source = keys_source(factory.name, factory.name_latin, factory.address)
    return factory


def write_rows(
    supplier_import: SupplierImport, progress: Callable[[float], None] = lambda f: None
) -> None:
    """Create and link everything the preview promised. Call inside transaction.atomic()."""
    if fast_path():
        _write_rows_sql(supplier_import, progress)
        return
    brand_id = supplier_import.brand_id
    rows = (
        SupplierImportRow.objects.filter(
            supplier_import=supplier_import, outcome__in=WRITTEN, duplicate_of__isnull=True
        )
        .order_by("line")
        .values_list(
            "outcome", "data", "factory_id", "match_name", "match_name_latin", "match_address"
        )
    )
    total = max(
        1, supplier_import.rows_new + supplier_import.rows_matched + supplier_import.rows_updated
    )
    done = 0
    for chunk in _chunks(rows.iterator(chunk_size=CHUNK), CHUNK):
        new = [
            (values, _new_factory(values, keys))
            for outcome, values, _f, *keys in chunk
            if outcome == Outcome.NEW
        ]
        Factory.objects.bulk_create([factory for _v, factory in new], batch_size=1000)
        links: list[BrandSupplier] = [
            BrandSupplier(
                brand_id=brand_id,
                factory_id=factory.pk,
                supplier_code=values.get("supplier_code", ""),
                source_import=supplier_import,
            )
            for values, factory in new
        ]
        existing = {f: values for outcome, values, f, *_keys in chunk if outcome != Outcome.NEW}
        if existing:
            _fill_blanks(existing)
            linked = {
                link.factory_id: link
                for link in BrandSupplier.objects.filter(brand_id=brand_id, factory_id__in=existing)
            }
            changed: list[BrandSupplier] = []
            for factory_id, values in existing.items():
                code = values.get("supplier_code", "")
                link = linked.get(factory_id)
                if link is None:
                    links.append(
                        BrandSupplier(
                            brand_id=brand_id,
                            factory_id=factory_id,
                            supplier_code=code,
                            source_import=supplier_import,
                        )
                    )
                elif code and link.supplier_code != code:
                    link.supplier_code = code
                    changed.append(link)
            BrandSupplier.objects.bulk_update(changed, ["supplier_code"], batch_size=1000)
        BrandSupplier.objects.bulk_create(links, batch_size=1000)
        done += len(chunk)
        progress(done / total)


def _fill_blanks(values_by_factory: dict[int, dict[str, Any]]) -> None:
    """Complete what existing factories lack (never overwrite what someone else entered)."""
    factories = Factory.objects.filter(pk__in=values_by_factory).only(
        "pk", *FILLABLE, "workers_total", "workers_women", "name", "address", *MATCH_FIELDS
    )
    taken_os_ids = (
        set(
            Factory.objects.filter(
                os_id__in=[v["os_id"] for v in values_by_factory.values() if v.get("os_id")]
            ).values_list("os_id", flat=True)
        )
        if any(v.get("os_id") for v in values_by_factory.values())
        else set()
    )
    changed: dict[str, list[Factory]] = {}
    for factory in factories:
        values = values_by_factory[factory.pk]
        fields: list[str] = []
        for name in FILLABLE:
            value = values.get(name)
            if value and not getattr(factory, name):
                if name == "os_id" and value in taken_os_ids:
                    continue
                setattr(factory, name, value)
                fields.append(name)
        if (
            factory.workers_total is None
            and factory.workers_women is None
            and values.get("workers_total") is not None
        ):
            factory.workers_total = values["workers_total"]
            factory.workers_women = values.get("workers_women")
            fields += ["workers_total", "workers_women"]
        if "name_latin" in fields and factory.refresh_match_keys():
            fields += MATCH_FIELDS
        if fields:
            changed.setdefault(",".join(sorted(fields)), []).append(factory)
    for fields_key, group in changed.items():
        Factory.objects.bulk_update(group, fields_key.split(","), batch_size=1000)


# --- PostgreSQL: the confirm step as set-based statements over the preview rows -----------


def _text(name: str) -> str:
    """A cleaned value from a preview row's JSON, '' when the row left it out."""
    return f"COALESCE(r.data->>'{name}', '')"


def _integer(name: str) -> str:
    return f"(r.data->>'{name}')::integer"


def keys_source_sql(name: str, name_latin: str, address: str) -> str:
    """``normalise.keys_source`` of three SQL text expressions, computed by PostgreSQL."""
    return (
        f"('x' || left(md5(%(keys_version)s || chr(31) || {name} || chr(31) || {name_latin} "
        f"|| chr(31) || {address}), 16))::bit(64)::bigint"
    )


def _sql_names() -> dict[str, str]:
    return {
        "rows": SupplierImportRow._meta.db_table,
        "factory": Factory._meta.db_table,
        "link": BrandSupplier._meta.db_table,
    }


def _write_rows_sql(supplier_import: SupplierImport, progress: Callable[[float], None]) -> None:
    """New factories with their links, blanks filled on matched ones, their links created or
    their codes changed: four statements, whatever the number of rows."""
    names = _sql_names()
    params = {
        "import": supplier_import.pk,
        "brand": supplier_import.brand_id,
        "language": Factory._meta.get_field("language").get_default(),
        "new": Outcome.NEW,
        "existing": [Outcome.MATCHED, Outcome.UPDATED],
        "keys_version": KEYS_VERSION,
    }
    with connection.cursor() as cursor:
        # Sorting a large import's rows in memory rather than on disk (this transaction only).
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [names["factory"]])
        sequence = cursor.fetchone()[0]
        _insert_new_factories(cursor, names, sequence, params)
        progress(0.5)
        _fill_blanks_sql(cursor, names, params)
        progress(0.75)
        _link_existing_sql(cursor, names, params)
        progress(1.0)


def _insert_new_factories(
    cursor: Any, names: dict[str, str], sequence: str, params: dict[str, Any]
) -> None:
    """Ids are taken from the sequence in line order, so factories keep the file's order;
    the same statement inserts the factories and the brand's links to them."""
    text_fields = [f for f in FACTORY_FIELDS if f not in ("workers_total", "workers_women")]
    columns = [*text_fields, "workers_total", "workers_women", *MATCH_FIELDS]
    values = [
        *(_text(f) for f in text_fields),
        _integer("workers_total"),
        _integer("workers_women"),
        "r.match_name",
        "r.match_name_latin",
        "r.match_address",
        keys_source_sql(_text("name"), _text("name_latin"), _text("address")),
    ]
    # The rows are read once, into the CTE (in memory: work_mem), for both inserts.
    cursor.execute(
        f"""
        WITH new AS MATERIALIZED (
            SELECT nextval('{sequence}') AS factory_id, s.*
            FROM (
                SELECT r.data, r.match_name, r.match_name_latin, r.match_address
                FROM {names["rows"]} r
                WHERE r.supplier_import_id = %(import)s AND r.outcome = %(new)s
                  AND r.duplicate_of IS NULL
                ORDER BY r.line
            ) s
        ), factories AS (
            INSERT INTO {names["factory"]}
                (id, {", ".join(columns)}, registration_number, language,
                 created_at, updated_at)
            SELECT r.factory_id, {", ".join(values)}, '', %(language)s, now(), now()
            FROM new r
        )
        INSERT INTO {names["link"]}
            (brand_id, factory_id, supplier_code, source_import_id, created_at)
        SELECT %(brand)s, r.factory_id, {_text("supplier_code")}, %(import)s, now()
        FROM new r
        """,
        params,
    )


def _fill_blanks_sql(cursor: Any, names: dict[str, str], params: dict[str, Any]) -> None:
    """Complete what matched factories lack (never overwrite what someone else entered); an
    OS ID only if no factory has it yet. The last row for a factory wins."""
    plain = [f for f in FILLABLE if f != "os_id"]
    latin_filled = f"f.name_latin = '' AND {_text('name_latin')} <> ''"
    sets = [
        *(f"{f} = CASE WHEN f.{f} = '' THEN {_text(f)} ELSE f.{f} END" for f in plain),
        # "g.os_id <> ''" lets the planner use the partial unique index on os_id: without
        # it the lookup scans every factory, for each row that brings an OS ID.
        f"os_id = CASE WHEN f.os_id = '' AND {_text('os_id')} <> '' AND NOT EXISTS "
        f"(SELECT 1 FROM {names['factory']} g WHERE g.os_id = r.data->>'os_id' "
        "AND g.os_id <> '') THEN r.data->>'os_id' ELSE f.os_id END",
        # A Latin name filled in changes the stored keys (still stale if they were).
        f"match_name_latin = CASE WHEN {latin_filled} THEN r.match_name_latin "
        "ELSE f.match_name_latin END",
        f"match_source = CASE WHEN {latin_filled} THEN CASE WHEN f.match_source = "
        f"{keys_source_sql('f.name', 'f.name_latin', 'f.address')} THEN "
        f"{keys_source_sql('f.name', _text('name_latin'), 'f.address')} END "
        "ELSE f.match_source END",
        "workers_total = CASE WHEN f.workers_total IS NULL AND f.workers_women IS NULL "
        f"THEN {_integer('workers_total')} ELSE f.workers_total END",
        "workers_women = CASE WHEN f.workers_total IS NULL AND f.workers_women IS NULL "
        f"AND r.data ? 'workers_total' THEN {_integer('workers_women')} "
        "ELSE f.workers_women END",
    ]
    wanted = [
        *(f"(f.{f} = '' AND {_text(f)} <> '')" for f in FILLABLE),
        "(f.workers_total IS NULL AND f.workers_women IS NULL AND r.data ? 'workers_total')",
    ]
    cursor.execute(
        f"""
        UPDATE {names["factory"]} f SET {", ".join(sets)}
        FROM (
            SELECT DISTINCT ON (factory_id) factory_id, data, match_name_latin
            FROM {names["rows"]}
            WHERE supplier_import_id = %(import)s AND outcome = ANY(%(existing)s)
              AND duplicate_of IS NULL AND factory_id IS NOT NULL
            ORDER BY factory_id, line DESC
        ) r
        WHERE f.id = r.factory_id AND ({" OR ".join(wanted)})
        """,
        params,
    )


def _link_existing_sql(cursor: Any, names: dict[str, str], params: dict[str, Any]) -> None:
    """Link matched factories to the brand, or give an existing link the file's code."""
    cursor.execute(
        f"""
        INSERT INTO {names["link"]} AS l
            (brand_id, factory_id, supplier_code, source_import_id, created_at)
        SELECT %(brand)s, r.factory_id, {_text("supplier_code")}, %(import)s, now()
        FROM (
            SELECT DISTINCT ON (factory_id) factory_id, data FROM {names["rows"]}
            WHERE supplier_import_id = %(import)s AND outcome = ANY(%(existing)s)
              AND duplicate_of IS NULL AND factory_id IS NOT NULL
            ORDER BY factory_id, line DESC
        ) r
        ON CONFLICT (brand_id, factory_id) DO UPDATE SET supplier_code = EXCLUDED.supplier_code
        WHERE EXCLUDED.supplier_code <> '' AND l.supplier_code <> EXCLUDED.supplier_code
        """,
        params,
    )
