"""Store preview rows, mark the repeats inside a file, write a confirmed import.

One path on every database. Preview rows are stored a batch at a time: ``COPY … FROM STDIN``
on PostgreSQL, ``executemany`` on SQLite (the embedded default), both fed by ``_row_values``.
Repeats inside the file (the same factory twice, a supplier code given to two factories) are
marked once the whole file is stored, by one set-based statement over the stored rows
(``mark_repeats``). The confirm step is a few set-based statements over the preview rows
(``write_rows``): the rows never come back to Python. Each rule of an import is written once,
in SQL both databases run; ``Dialect`` holds the few spellings they differ in (JSON builders,
ids for new factories, the match-key hash, a planner setting). Time grows linearly with the
file and memory stays flat.

The caller holds one transaction around ``write_rows``: any failure leaves the database as
it was.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from suppliers.importing.changes import PROPOSABLE
from suppliers.importing.matching import FILLABLE
from suppliers.importing.normalise import KEYS_VERSION, keys_source
from suppliers.importing.parsing import Table, open_table
from suppliers.models import (
    BrandSupplier,
    Factory,
    FactoryChange,
    SupplierImport,
    SupplierImportRow,
)

if TYPE_CHECKING:
    from suppliers.importing.analysis import PreviewRow

Outcome = SupplierImportRow.Outcome
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
# What an error row keeps of a valid row's values (with the file's cells, "_cells").
ERROR_VALUES = ("name", "address", "country", "supplier_code")


# --- The two databases ----------------------------------------------------------------------


class Dialect:
    """What PostgreSQL says one way and SQLite another; everything else is shared SQL.

    Both run ``->>`` on JSON, window functions with FILTER, ``UPDATE … FROM``, ``INSERT … ON
    CONFLICT … DO UPDATE`` and ``WITH … AS MATERIALIZED`` (SQLite 3.38 or later)."""

    json_object = "json_object"
    json_array = "json_array"

    def prepare(self, cursor: Any) -> None:
        """Before the statements over stored rows (in their transaction)."""

    def keys_source(self, name: str, name_latin: str, address: str) -> str:
        """``normalise.keys_source`` of three SQL text expressions."""
        raise NotImplementedError

    def insert_new(self, cursor: Any, new_rows: str, inserts: list[str], params: Any) -> None:
        """Give each of ``new_rows`` (a SELECT of preview rows) a new factory id, in line
        order, as ``factory_id`` of a relation ``import_new`` that each of ``inserts`` reads."""
        raise NotImplementedError

    @contextmanager
    def row_loader(self) -> Iterator[Callable[[Iterable[tuple[Any, ...]]], None]]:
        """A function that stores preview rows given as ``_row_values``."""
        raise NotImplementedError
        yield


class PostgreSQL(Dialect):
    json_object = "jsonb_build_object"
    json_array = "jsonb_build_array"

    def prepare(self, cursor: Any) -> None:
        # Sorting a large import's rows in memory rather than on disk (this transaction only).
        cursor.execute("SET LOCAL work_mem = '64MB'")

    def keys_source(self, name: str, name_latin: str, address: str) -> str:
        return (
            f"('x' || left(md5(%(keys_version)s || chr(31) || {name} || chr(31) || "
            f"{name_latin} || chr(31) || {address}), 16))::bit(64)::bigint"
        )

    def insert_new(self, cursor: Any, new_rows: str, inserts: list[str], params: Any) -> None:
        # One statement: the rows are read once, into the CTE (in memory: work_mem), and the
        # ids come from the table's sequence in line order (so factories keep the file's).
        cursor.execute(f"SELECT pg_get_serial_sequence('{Factory._meta.db_table}', 'id')")
        sequence = cursor.fetchone()[0]
        parts = ",\n".join(f"w{n} AS ({sql})" for n, sql in enumerate(inserts[:-1]))
        cursor.execute(
            f"WITH import_new AS MATERIALIZED (SELECT nextval('{sequence}') AS factory_id, s.* "
            f"FROM ({new_rows} ORDER BY r.line) s), {parts}\n{inserts[-1]}",
            params,
        )

    @contextmanager
    def row_loader(self) -> Iterator[Callable[[Iterable[tuple[Any, ...]]], None]]:
        # COPY's text format, each row written by Python's own formatting: about twice as
        # fast as psycopg's write_row, and the reading is what an import waits for.
        table = SupplierImportRow._meta.db_table
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg 3
            with raw.copy(f"COPY {table} ({', '.join(_ROW_COLUMNS)}) FROM STDIN") as copy:

                def write(rows: Iterable[tuple[Any, ...]]) -> None:
                    copy.write("".join([_copy_line(values) for values in rows]))

                yield write


class SQLite(Dialect):
    def prepare(self, cursor: Any) -> None:
        # The match-key hash, as Python computes it (SQLite has no md5).
        connection.connection.create_function("keys_source", 3, keys_source, deterministic=True)

    def keys_source(self, name: str, name_latin: str, address: str) -> str:
        return f"keys_source({name}, {name_latin}, {address})"

    def insert_new(self, cursor: Any, new_rows: str, inserts: list[str], params: Any) -> None:
        # No sequence and no INSERT inside WITH: a temporary table holds the rows with ids
        # after the largest one the table has ever given (AUTOINCREMENT), in line order.
        table = Factory._meta.db_table
        cursor.execute("DROP TABLE IF EXISTS temp.import_new")
        cursor.execute(
            "CREATE TEMP TABLE import_new AS SELECT "
            f"(SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0), "
            f"coalesce((SELECT max(id) FROM {table}), 0))) "
            f"+ row_number() OVER (ORDER BY s.line) AS factory_id, s.* FROM ({new_rows}) s",
            params,
        )
        for sql in inserts:
            cursor.execute(sql, params)
        cursor.execute("DROP TABLE temp.import_new")

    @contextmanager
    def row_loader(self) -> Iterator[Callable[[Iterable[tuple[Any, ...]]], None]]:
        table = SupplierImportRow._meta.db_table
        marks = ", ".join(["%s"] * len(_ROW_COLUMNS))
        sql = f"INSERT INTO {table} ({', '.join(_ROW_COLUMNS)}) VALUES ({marks})"
        with connection.cursor() as cursor:

            def write(rows: Iterable[tuple[Any, ...]]) -> None:
                cursor.executemany(sql, list(rows))

            yield write


def dialect() -> Dialect:
    if connection.vendor == "postgresql":
        return PostgreSQL()
    if connection.vendor == "sqlite":
        if sqlite3.sqlite_version_info < (3, 38):
            raise NotImplementedError(
                f"supplier imports need SQLite 3.38 or later, not {sqlite3.sqlite_version}"
            )
        return SQLite()
    raise NotImplementedError(
        f"supplier imports run on PostgreSQL or SQLite, not {connection.vendor}"
    )


# --- Preview rows -----------------------------------------------------------------------------

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
    "match_name",
    "match_name_latin",
    "match_address",
    "changes",
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


def _row_values(import_id: int, row: PreviewRow) -> tuple[Any, ...]:
    """A preview row as stored, in ``_ROW_COLUMNS``' order: what either database loads."""
    return (
        import_id,
        row.line,
        row.outcome,
        _json_object(row.data),
        _json(row.errors) if row.errors else "[]",
        row.row_key,
        row.factory_id,
        row.candidate_id,
        row.score,
        row.match_name,
        row.match_name_latin,
        row.match_address,
        _json(row.changes) if row.changes else "{}",
    )


def _copy_line(values: tuple[Any, ...]) -> str:
    """``_row_values`` as a line of COPY's text format. Of the texts, only the JSON ones can
    hold a backslash (JSON escapes every control character); the others are an outcome, a
    hex key and match keys of letters, digits and spaces."""
    (
        import_id,
        line,
        outcome,
        data,
        errors,
        key,
        factory,
        candidate,
        score,
        name,
        latin,
        address,
        changes,
    ) = values
    if "\\" in changes:
        changes = changes.replace("\\", "\\\\")
    if "\\" in data:
        data = data.replace("\\", "\\\\")
    if "\\" in errors:
        errors = errors.replace("\\", "\\\\")
    null = "\\N"
    return (
        f"{import_id}\t{line}\t{outcome}\t{data}\t{errors}\t{key}\t"
        f"{null if factory is None else factory}\t{null if candidate is None else candidate}\t"
        f"{null if score is None else score}\t{name}\t{latin}\t{address}\t{changes}\n"
    )


class PreviewWriter:
    """Stores an import's preview rows as the analysis hands them over in batches.

    A batch is kept until ``sending()``, during which it goes out a piece at a time while the
    analysis reads the next batch: on PostgreSQL the server stores rows on one core while
    Python reads on the other."""

    def __init__(self, supplier_import: SupplierImport) -> None:
        self.supplier_import = supplier_import
        self.import_id = supplier_import.pk
        self.dialect = dialect()
        self.pending: list[PreviewRow] = []

    def add(self, rows: list[PreviewRow]) -> None:
        self.pending.extend(rows)

    @contextmanager
    def sending(self) -> Iterator[Callable[[float], None]]:
        """Store the pending rows; the caller says how far through its own work it is, and
        as much of the batch goes out. Leaving the block sends the rest (so the connection
        is free for queries again)."""
        rows, self.pending = self.pending, []
        if not rows:
            yield lambda fraction: None
            return
        sent = 0
        import_id = self.import_id
        with self.dialect.row_loader() as load:

            def write(part: list[PreviewRow]) -> None:
                load(_row_values(import_id, row) for row in part)

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

    def mark_repeats(self, *, column: str) -> None:
        """Mark the rows that repeat a factory given earlier in the file, and the supplier
        codes given to two factories (``mark_repeats``), then the rows that name one
        factory in two ways (``mark_same_factory``)."""
        self.close()
        mark_repeats(self.import_id, self.dialect, column)
        mark_same_factory(self.import_id, column)

    @contextmanager
    def reopen(self) -> Iterator[Table]:
        """The uploaded file, read again from its start."""
        supplier_import = self.supplier_import
        name = supplier_import.file.name
        assert name, "an import keeps its file"
        # A handle of its own: the caller may still hold the one it read the file with.
        with supplier_import.file.storage.open(name, "rb") as stream:
            yield open_table(
                stream,
                filename=supplier_import.original_filename,
                encoding=supplier_import.encoding,
            )


def _names() -> dict[str, str]:
    return {
        "rows": SupplierImportRow._meta.db_table,
        "factory": Factory._meta.db_table,
        "link": BrandSupplier._meta.db_table,
        "history": BrandSupplier.history.model._meta.db_table,  # type: ignore[attr-defined]
        "change": FactoryChange._meta.db_table,
    }


def mark_repeats(import_id: int, dialect: Dialect, column: str) -> None:
    """Repeats inside one file, decided over the stored rows, whatever the file's length.

    Rows that count here are those the analysis gave an outcome other than an error. Rows
    are one factory when they have the same row key, or when the first rows of two keys
    have the same OS ID (the earliest such row is the factory's first row). A supplier code
    belongs to the factory of the first row that gives it; a row giving it to another
    factory is an error naming that row. Of a factory's other rows, the first counts and
    the later ones repeat it (unchanged, ``duplicate_of`` its line, its factory).

    Only rows that share a key, OS ID or code with another row are looked at closely: the
    windows run over those few, not the whole file. A clash keeps the row's values (the
    analysis adds the file's cells, as for its own error rows)."""
    names = _names()
    o, a = dialect.json_object, dialect.json_array
    with transaction.atomic(), connection.cursor() as cursor:
        dialect.prepare(cursor)  # on PostgreSQL: the aggregates' hash tables in memory
        cursor.execute(
            f"""
            WITH c AS MATERIALIZED (
                SELECT id, line, row_key AS k, data->>'os_id' AS os,
                       data->>'supplier_code' AS code, factory_id
                FROM {names["rows"]}
                WHERE supplier_import_id = %(import)s AND outcome <> %(error)s
            ), i AS (
                SELECT * FROM c
                WHERE k IN (SELECT k FROM c GROUP BY k HAVING count(*) > 1)
                   OR os IN (SELECT os FROM c WHERE os IS NOT NULL
                             GROUP BY os HAVING count(*) > 1)
                   OR code IN (SELECT code FROM c WHERE code IS NOT NULL
                               GROUP BY code HAVING count(*) > 1)
            ), s1 AS (
                -- the first row of each key
                SELECT i.*, min(line) OVER (PARTITION BY k) AS kf FROM i
            ), s2 AS (
                -- for the first row of a key: the first of such rows with its OS ID
                SELECT s1.*, CASE WHEN os IS NULL OR kf <> line THEN line
                    ELSE min(line) FILTER (WHERE kf = line) OVER (PARTITION BY os) END AS osr
                FROM s1
            ), s3 AS (
                -- the factory (its first row's line) of every row; the first row of each code
                SELECT s2.*, min(osr) FILTER (WHERE kf = line) OVER (PARTITION BY k) AS grp,
                    min(line) OVER (PARTITION BY code) AS owner
                FROM s2
            ), s4 AS (
                SELECT s3.*, min(grp) FILTER (WHERE line = owner) OVER (PARTITION BY code)
                    AS owner_grp
                FROM s3
            ), s5 AS (
                SELECT s4.*, (code IS NOT NULL AND owner_grp <> grp) AS clash FROM s4
            ), s6 AS (
                -- the first row of each factory that is not a clash counts
                SELECT s5.*, min(line) FILTER (WHERE NOT clash) OVER (PARTITION BY grp) AS head
                FROM s5
            ), s7 AS (
                SELECT s6.*, min(factory_id) FILTER (WHERE line = head)
                    OVER (PARTITION BY grp) AS head_factory
                FROM s6
            ), x AS (
                SELECT id, clash, code, owner, head, head_factory FROM s7
                WHERE clash OR head <> line
            )
            UPDATE {names["rows"]} AS t SET
                outcome = CASE WHEN x.clash THEN %(error)s ELSE %(unchanged)s END,
                duplicate_of = CASE WHEN x.clash THEN NULL ELSE x.head END,
                factory_id = CASE WHEN x.clash THEN NULL ELSE x.head_factory END,
                candidate_id = NULL,
                score = NULL,
                errors = CASE WHEN x.clash THEN {a}({o}(
                    'column', CAST(%(column)s AS text),
                    'code', 'code_clash',
                    'params', {o}('code', x.code, 'row', x.owner)
                )) ELSE t.errors END,
                row_key = CASE WHEN x.clash THEN '' ELSE t.row_key END,
                match_name = CASE WHEN x.clash THEN '' ELSE t.match_name END,
                match_name_latin = CASE WHEN x.clash THEN '' ELSE t.match_name_latin END,
                match_address = CASE WHEN x.clash THEN '' ELSE t.match_address END,
                changes = '{{}}'
            FROM x
            WHERE t.id = x.id
            """,
            {
                "import": import_id,
                "error": Outcome.ERROR,
                "unchanged": Outcome.UNCHANGED,
                "column": column,
            },
        )


def mark_same_factory(import_id: int, column: str) -> int:
    """Rows with different names (or addresses) that came to the same factory: matched to
    it, one decided to be it, or one carrying the brand's code for it. The factory's first
    row counts; a later one repeats it (unchanged, ``duplicate_of`` that row) when it gives
    no code or the same code, and is an error naming its code otherwise: a factory has one
    code on a brand's list, and no code of the file is dropped unsaid. Run after the
    repeats are marked and again after each decision. Returns the rows it marked."""
    names = _names()
    sql = dialect()
    o, a = sql.json_object, sql.json_array
    counted = (Outcome.MATCHED, Outcome.UPDATED, Outcome.UNCHANGED)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH c AS MATERIALIZED (
                SELECT id, line, factory_id, COALESCE(data->>'supplier_code', '') AS code
                FROM {names["rows"]}
                WHERE supplier_import_id = %(import)s AND duplicate_of IS NULL
                  AND factory_id IS NOT NULL AND outcome IN (%(o1)s, %(o2)s, %(o3)s)
            ), d AS (
                SELECT c.*, min(line) OVER (PARTITION BY factory_id) AS head FROM c
                WHERE factory_id IN (SELECT factory_id FROM c GROUP BY factory_id
                                     HAVING count(*) > 1)
            ), h AS (
                SELECT d.*, min(code) FILTER (WHERE line = head)
                    OVER (PARTITION BY factory_id) AS head_code
                FROM d
            ), x AS (
                SELECT h.id, h.head, h.code, f.name AS factory_name,
                    (h.code <> '' AND h.code <> h.head_code) AS clash
                FROM h JOIN {names["factory"]} f ON f.id = h.factory_id
                WHERE h.line <> h.head
            )
            UPDATE {names["rows"]} AS t SET
                outcome = CASE WHEN x.clash THEN %(error)s ELSE %(unchanged)s END,
                duplicate_of = CASE WHEN x.clash THEN NULL ELSE x.head END,
                factory_id = CASE WHEN x.clash THEN NULL ELSE t.factory_id END,
                candidate_id = NULL,
                score = NULL,
                changes = '{{}}',
                errors = CASE WHEN x.clash THEN {a}({o}(
                    'column', CAST(%(column)s AS text),
                    'code', 'same_factory',
                    'params', {o}('code', x.code, 'row', x.head, 'factory', x.factory_name)
                )) ELSE t.errors END
            FROM x
            WHERE t.id = x.id
            """,
            {
                "import": import_id,
                "o1": counted[0],
                "o2": counted[1],
                "o3": counted[2],
                "error": Outcome.ERROR,
                "unchanged": Outcome.UNCHANGED,
                "column": column,
            },
        )
        return max(cursor.rowcount, 0)


# --- The confirm step -----------------------------------------------------------------------

# A large import leaves the planner's statistics behind until autovacuum analyses the tables
# (about a minute later); meanwhile the brand's supplier list took 0.2 s instead of 59 ms
# and the matrix 0.1 s instead of 19 ms. ANALYZE reads a fixed sample (30,000 rows a table
# at the default statistics target), so it costs a fraction of a second at any size.
ANALYZE_AFTER_ROWS = 5000


def needs_statistics(rows_written: int) -> bool:
    """Whether an import that wrote this many rows leaves the statistics behind."""
    return connection.vendor == "postgresql" and rows_written >= ANALYZE_AFTER_ROWS


def refresh_statistics(rows_written: int) -> bool:
    """ANALYZE the tables a large import wrote to (PostgreSQL); True if it did. A task of
    its own after the import's commit (``suppliers.tasks.refresh_statistics``)."""
    if not needs_statistics(rows_written):
        return False
    # A savepoint: if ANALYZE fails, an enclosing transaction can go on.
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (Factory, BrandSupplier):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return True


def _text(name: str) -> str:
    """A cleaned value from a preview row's JSON, '' when the row left it out."""
    return f"COALESCE(r.data->>'{name}', '')"


def _integer(name: str) -> str:
    return f"CAST(r.data->>'{name}' AS integer)"


def _given(name: str) -> str:
    """The row gave this value (a cleaned value is never JSON null)."""
    return f"r.data->>'{name}' IS NOT NULL"


def write_rows(
    supplier_import: SupplierImport, progress: Callable[[float], None] = lambda f: None
) -> None:
    """Create and link everything the preview promised: new factories with their links,
    blanks filled on matched ones, their links created or their codes changed. Three steps,
    whatever the number of rows. Call inside transaction.atomic()."""
    sql = dialect()
    now = timezone.now()
    params = {
        "import": supplier_import.pk,
        "brand": supplier_import.brand_id,
        "language": Factory._meta.get_field("language").get_default(),
        "new": Outcome.NEW,
        "matched": Outcome.MATCHED,
        "updated": Outcome.UPDATED,
        "error": Outcome.ERROR,
        "keys_version": KEYS_VERSION,
        "now": connection.ops.adapt_datetimefield_value(now),
        "user": supplier_import.confirmed_by_id,
        "reason": history_reason(supplier_import),
    }
    names = _names()
    with connection.cursor() as cursor:
        sql.prepare(cursor)
        _insert_new_factories(cursor, sql, names, params)
        progress(0.5)
        _fill_blanks(cursor, sql, names, params)
        progress(0.65)
        _propose_changes(cursor, names, params, PROPOSABLE)
        _link_existing(cursor, names, params)
        progress(0.8)
        if supplier_import.mode == SupplierImport.Mode.WHOLE:
            _end_missing(cursor, names, params)
        _record_history(cursor, names, params)
        progress(1.0)


def history_reason(supplier_import: SupplierImport) -> str:
    """What a link's history says changed it: the import, by number and file name."""
    return f"import {supplier_import.pk}: {supplier_import.original_filename}"[:100]


def _insert_new_factories(
    cursor: Any, sql: Dialect, names: dict[str, str], params: dict[str, Any]
) -> None:
    """A factory for each new row that counts, with its match keys, and the brand's link to
    it with the row's code; ids in line order, so factories keep the file's order."""
    text_fields = [f for f in FACTORY_FIELDS if f not in ("workers_total", "workers_women")]
    columns = [*text_fields, "workers_total", "workers_women"]
    values = [
        *(_text(f) for f in text_fields),
        _integer("workers_total"),
        _integer("workers_women"),
    ]
    new_rows = (
        "SELECT r.line, r.data, r.match_name, r.match_name_latin, r.match_address "
        f"FROM {names['rows']} r WHERE r.supplier_import_id = %(import)s "
        "AND r.outcome = %(new)s AND r.duplicate_of IS NULL"
    )
    factories = (
        f"INSERT INTO {names['factory']} (id, {', '.join(columns)}, match_name, "
        "match_name_latin, match_address, match_source, registration_number, language, "
        f"created_at, updated_at) SELECT r.factory_id, {', '.join(values)}, r.match_name, "
        "r.match_name_latin, r.match_address, "
        f"{sql.keys_source(_text('name'), _text('name_latin'), _text('address'))}, '', "
        "%(language)s, %(now)s, %(now)s FROM import_new r"
    )
    links = (
        f"INSERT INTO {names['link']} (brand_id, factory_id, supplier_code, source_import_id, "
        f"created_at, changed_at) SELECT %(brand)s, r.factory_id, {_text('supplier_code')}, "
        "%(import)s, %(now)s, %(now)s FROM import_new r"
    )
    sql.insert_new(cursor, new_rows, [factories, links], params)


def _last_rows(names: dict[str, str]) -> str:
    """The matched rows that count, the last one for each factory (it wins)."""
    return f"""
        SELECT factory_id, data, match_name_latin FROM (
            SELECT factory_id, data, match_name_latin,
                row_number() OVER (PARTITION BY factory_id ORDER BY line DESC) AS n
            FROM {names["rows"]}
            WHERE supplier_import_id = %(import)s AND outcome IN (%(matched)s, %(updated)s)
              AND duplicate_of IS NULL AND factory_id IS NOT NULL
        ) last WHERE n = 1
    """


def _fill_blanks(cursor: Any, sql: Dialect, names: dict[str, str], params: dict[str, Any]) -> None:
    """Complete what matched factories lack, never overwriting what someone else entered;
    an OS ID only if no factory has it yet. Workers come as a pair: only when the factory
    has neither. A Latin name filled in changes the stored match keys: they stay current if
    they were, and stay stale (recomputed by matching) if not."""
    plain = [f for f in FILLABLE if f != "os_id"]
    latin_filled = f"f.name_latin = '' AND {_text('name_latin')} <> ''"
    no_workers = "f.workers_total IS NULL AND f.workers_women IS NULL"
    sets = [
        *(f"{f} = CASE WHEN f.{f} = '' THEN {_text(f)} ELSE f.{f} END" for f in plain),
        # "g.os_id <> ''" lets the planner use the partial unique index on os_id: without
        # it the lookup scans every factory, for each row that brings an OS ID.
        f"os_id = CASE WHEN f.os_id = '' AND {_text('os_id')} <> '' AND NOT EXISTS "
        f"(SELECT 1 FROM {names['factory']} g WHERE g.os_id = r.data->>'os_id' "
        "AND g.os_id <> '') THEN r.data->>'os_id' ELSE f.os_id END",
        f"match_name_latin = CASE WHEN {latin_filled} THEN r.match_name_latin "
        "ELSE f.match_name_latin END",
        f"match_source = CASE WHEN {latin_filled} THEN CASE WHEN f.match_source = "
        f"{sql.keys_source('f.name', 'f.name_latin', 'f.address')} THEN "
        f"{sql.keys_source('f.name', _text('name_latin'), 'f.address')} END "
        "ELSE f.match_source END",
        f"workers_total = CASE WHEN {no_workers} THEN {_integer('workers_total')} "
        "ELSE f.workers_total END",
        f"workers_women = CASE WHEN {no_workers} AND {_given('workers_total')} "
        f"THEN {_integer('workers_women')} ELSE f.workers_women END",
        "updated_at = %(now)s",
    ]
    wanted = [
        *(f"(f.{f} = '' AND {_text(f)} <> '')" for f in FILLABLE),
        f"({no_workers} AND {_given('workers_total')})",
    ]
    cursor.execute(
        f"""
        UPDATE {names["factory"]} AS f SET {", ".join(sets)}
        FROM ({_last_rows(names)}) AS r
        WHERE f.id = r.factory_id AND ({" OR ".join(wanted)})
        """,
        params,
    )


def _link_existing(cursor: Any, names: dict[str, str], params: dict[str, Any]) -> None:
    """Link matched factories to the brand, give an existing link the file's code, and put
    back on the list a supplier that had left it."""
    cursor.execute(
        f"""
        INSERT INTO {names["link"]} AS l
            (brand_id, factory_id, supplier_code, source_import_id, created_at, changed_at)
        SELECT %(brand)s, r.factory_id, {_text("supplier_code")}, %(import)s, %(now)s, %(now)s
        FROM ({_last_rows(names)}) AS r WHERE r.factory_id IS NOT NULL
        ON CONFLICT (brand_id, factory_id) DO UPDATE SET
            supplier_code = CASE WHEN excluded.supplier_code <> ''
                THEN excluded.supplier_code ELSE l.supplier_code END,
            ended_at = NULL,
            changed_at = excluded.changed_at
        WHERE (excluded.supplier_code <> '' AND l.supplier_code <> excluded.supplier_code)
           OR l.ended_at IS NOT NULL
        """,
        params,
    )


def _propose_changes(
    cursor: Any, names: dict[str, str], params: dict[str, Any], fields: tuple[str, ...]
) -> None:
    """A pending proposal for each shared field a counted row would change (``changes``:
    "propose"), one per factory, field and brand: a later upload replaces its value. None
    if the factory holds that value by now."""
    choices = " UNION ALL ".join(f"SELECT '{f}' AS field" for f in fields)
    current = (
        "CASE p.field " + " ".join(f"WHEN '{f}' THEN CAST(f.{f} AS text)" for f in fields) + " END"
    )
    cursor.execute(
        f"""
        INSERT INTO {names["change"]} AS c
            (factory_id, field, old_value, value, brand_id, source_import_id, proposed_by_id,
             status, created_at)
        SELECT r.factory_id, p.field, COALESCE(r.changes -> p.field ->> 'old', ''),
            r.changes -> p.field ->> 'new', %(brand)s, %(import)s, %(user)s, 'pending',
            %(now)s
        FROM {names["rows"]} r
        JOIN ({choices}) p ON r.changes -> p.field ->> 'how' = 'propose'
        JOIN {names["factory"]} f ON f.id = r.factory_id
        WHERE r.supplier_import_id = %(import)s AND r.outcome IN (%(matched)s, %(updated)s)
          AND r.duplicate_of IS NULL AND r.factory_id IS NOT NULL
          AND COALESCE({current}, '') <> r.changes -> p.field ->> 'new'
        ON CONFLICT (factory_id, field, brand_id) WHERE status = 'pending' DO UPDATE SET
            value = excluded.value, old_value = excluded.old_value,
            source_import_id = excluded.source_import_id,
            proposed_by_id = excluded.proposed_by_id, created_at = excluded.created_at
        """,
        params,
    )


def _end_missing(cursor: Any, names: dict[str, str], params: dict[str, Any]) -> None:
    """ "Our whole list": the brand's suppliers that no row of the file names end (dated).
    A supplier whose code is on a row with an error stays: that row is to be fixed."""
    cursor.execute(
        f"""
        UPDATE {names["link"]} AS l SET ended_at = %(now)s, changed_at = %(now)s
        WHERE l.brand_id = %(brand)s AND l.ended_at IS NULL
          AND (l.changed_at IS NULL OR l.changed_at <> %(now)s)
          AND NOT EXISTS (
            SELECT 1 FROM {names["rows"]} r WHERE r.supplier_import_id = %(import)s
              AND r.factory_id = l.factory_id AND r.outcome <> %(error)s)
          AND NOT EXISTS (
            SELECT 1 FROM {names["rows"]} r WHERE r.supplier_import_id = %(import)s
              AND r.outcome = %(error)s AND l.supplier_code <> ''
              AND r.data->>'supplier_code' = l.supplier_code)
        """,
        params,
    )


def _record_history(cursor: Any, names: dict[str, str], params: dict[str, Any]) -> None:
    """One historical row for every link this confirm created, changed, ended or restored
    (``django-simple-history``'s table), by the person who confirmed, the import its
    reason: the links it wrote carry its time in ``changed_at``."""
    cursor.execute(
        f"""
        INSERT INTO {names["history"]}
            (id, brand_id, factory_id, supplier_code, source_import_id, created_at, ended_at,
             history_date, history_change_reason, history_type, history_user_id)
        SELECT l.id, l.brand_id, l.factory_id, l.supplier_code, l.source_import_id,
            l.created_at, l.ended_at, %(now)s, %(reason)s,
            CASE WHEN l.created_at = %(now)s THEN '+' ELSE '~' END, %(user)s
        FROM {names["link"]} l
        WHERE l.brand_id = %(brand)s AND l.changed_at = %(now)s
        """,
        params,
    )
