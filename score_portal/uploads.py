"""The one reader of uploaded tables: CSV/TXT/TSV or XLSX in, a header and rows of text out.

Every upload goes through ``open_table`` (supplier lists, supplier-code files for enrolment,
the admin's factory import), so whatever Excel or a spreadsheet produced reads the same
everywhere, and whatever cannot be read ends in one ``UploadError`` whose message tells the
uploader what to do.

- CSV is decoded as a stream (``io.TextIOWrapper`` under ``csv.reader``): memory stays flat
  whatever the file's length, and no Python work is added per row.
- The encoding comes from a bounded sample: a byte-order mark, else charset-normalizer on
  the first 64 KB that hold non-ASCII bytes (UTF-16 with or without BOM, UTF-8,
  GB18030, Windows-1252/1254/1258). A file that is plain ASCII throughout reads as UTF-8.
- The delimiter (comma, semicolon, tab or bar) is the one the header row uses most.
- XLSX is read by openpyxl in read-only mode once the members' uncompressed sizes are
  checked against ``SUPPLIER_IMPORT_MAX_UNCOMPRESSED_BYTES``, so a zip bomb is refused
  before anything is inflated.

A kernel module: it imports no app.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

from charset_normalizer import from_bytes
from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import load_workbook

CSV_EXTENSIONS = (".csv", ".txt", ".tsv")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
DELIMITERS = (",", ";", "\t", "|")
# What detection chooses among besides the Unicode forms: the code pages Excel writes on
# Windows for the portal's languages. Any of them can also be chosen by hand.
LEGACY_ENCODINGS = ("cp1252", "cp1254", "cp1258", "gb18030")
SAMPLE_BYTES = 64 * 1024
# The longest cell the reader hands on. A too-long cell is the caller's to refuse, row by
# row, against what its column allows (a supplier list's factory name: 300 characters; any
# cell: what a spreadsheet cell holds), so one oversized cell costs only its row. Past this
# bound a cell is no cell but a quotation mark that never closes and swallows the rest of the
# file: the file is refused with that explanation. csv holds a cell as 4 bytes a character,
# so this bounds the reader's memory at 16 MB.
MAX_CELL_CHARACTERS = 4 * 1024 * 1024
csv.field_size_limit(MAX_CELL_CHARACTERS)
# The most a spreadsheet cell holds (Excel's limit): a longer one came from no spreadsheet.
SPREADSHEET_CELL_CHARACTERS = 32_767

_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls, or an .xlsx protected with a password
_ZIP_MAGIC = b"PK\x03\x04"


class UploadError(Exception):
    """The file as a whole can't be read; the message tells the uploader what to fix."""


@dataclass
class Table:
    """A file's header and a lazy iterator of (row number as Excel shows it, cells)."""

    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    encoding: str = ""
    delimiter: str = ""
    # How far through the file the reader is, 0.0 to 1.0 (for a progress bar).
    position: Callable[[], float] = field(default=lambda: 0.0)


def open_table(stream: IO[bytes], *, filename: str, encoding: str = "") -> Table:
    """Read the header of the seekable ``stream`` and return a Table whose rows are read on
    demand; ``encoding`` forces a CSV's encoding. Raise UploadError if it can't be read."""
    name = filename.lower()
    if not name.endswith(CSV_EXTENSIONS + XLSX_EXTENSIONS):
        raise UploadError(_("Upload a .csv, .txt or .xlsx file."))
    head = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    if not head.strip():
        raise UploadError(_("The file is empty."))
    if head.startswith(_OLE_MAGIC):
        raise UploadError(
            _("This is an old Excel .xls workbook (or a protected one). Save it as .xlsx or CSV.")
        )
    is_zip = head.startswith(_ZIP_MAGIC)
    if name.endswith(XLSX_EXTENSIONS):
        if not is_zip:
            raise UploadError(
                _("This file is not an Excel workbook, although its name ends in .xlsx.")
            )
        return _open_xlsx(stream)
    if is_zip:
        raise UploadError(
            _(
                "This file is an Excel workbook although its name ends in %(ext)s. "
                "Rename it to .xlsx or save it from Excel as CSV."
            )
            % {"ext": name[name.rfind(".") :]}
        )
    return _open_csv(stream, head, encoding or detect_encoding(stream, head))


# --- Encoding -----------------------------------------------------------------------------


def detect_encoding(stream: IO[bytes], head: bytes) -> str:
    """The encoding of a text file whose first bytes are ``head``, as Python's codec name.

    A byte-order mark decides; else NUL bytes mean UTF-16 (Excel's "Unicode text" without
    its mark) or binary; else the first 64 KB holding non-ASCII bytes decide: UTF-8 if they
    decode as such, otherwise what charset-normalizer finds among the legacy pages.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        return _utf16_or_binary(head)
    sample = _non_ascii_sample(stream)
    if not sample:
        return "utf-8"  # ASCII throughout
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample)  # a cut last character is fine
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    matches = from_bytes(sample, cp_isolation=list(LEGACY_ENCODINGS))
    best = matches.best()
    if best is None:
        raise UploadError(
            _(
                "The file's text encoding could not be recognised (or it is not a text file). "
                "Save it as UTF-8 CSV and upload it again."
            )
        )
    fitting = [m.encoding for m in matches if m.chaos <= best.chaos + 0.01]
    if best.encoding == "gb18030" or len(fitting) == 1:
        return best.encoding
    return _windows_page(sample, [e for e in fitting if e != "gb18030"])


def _utf16_or_binary(head: bytes) -> str:
    """UTF-16 without a byte-order mark (NUL beside every ASCII character: the line ends
    and delimiters a table cannot do without), or else binary data."""
    match = from_bytes(head[: len(head) // 2 * 2], cp_isolation=["utf_16_le", "utf_16_be"]).best()
    if match is not None and any(c in str(match) for c in "\n\t,;"):
        return match.encoding.replace("_", "-")
    raise UploadError(_("This file is not a CSV or XLSX file (it contains binary data)."))


def _non_ascii_sample(stream: IO[bytes]) -> bytes:
    """64 KB from the line where the first non-ASCII byte is, cut at a line end (no
    multi-byte character of UTF-8, GB18030 or a Windows page contains byte 0x0A); empty if
    the file is ASCII throughout."""
    try:
        while chunk := stream.read(SAMPLE_BYTES):
            if chunk.isascii():
                continue
            first = _NON_ASCII.search(chunk)
            start = chunk.rfind(b"\n", 0, first.start() if first else 0) + 1
            more = stream.read(start)
            sample = chunk[start:] + more
            end = sample.rfind(b"\n")
            if len(chunk) + len(more) == SAMPLE_BYTES + start and end > 0:
                sample = sample[: end + 1]  # the file goes on: drop the line cut short
            return sample
        return b""
    finally:
        stream.seek(0)


_NON_ASCII = re.compile(rb"[\x80-\xff]")


# Letters only one of the single-byte pages produces, and letters that betray a wrong guess
# (the Icelandic ÐÝÞ that Windows-1252 makes of Turkish ĞİŞ, for example). charset-normalizer
# finds which pages fit, but on a short text it cannot tell them apart.
_MARKERS = {
    "cp1254": ("ğĞışŞİ", "ÌìÒòÕõÐðÝýÞþ"),
    "cp1258": ("ơƠưƯđĐ\u0300\u0301\u0303\u0309\u0323", "₫"),
    "cp1252": ("", "ÐðÝýÞþ"),
}


def _windows_page(sample: bytes, pages: list[str]) -> str:
    best, best_score = "cp1252" if "cp1252" in pages else pages[0], 0
    for page in pages:
        good, bad = _MARKERS.get(page, ("", ""))
        text = sample.decode(page, errors="replace")
        score = sum(text.count(c) for c in good) - 3 * sum(text.count(c) for c in bad)
        if score > best_score:
            best, best_score = page, score
    return best


# --- CSV ----------------------------------------------------------------------------------


def _guess_delimiter(first_line: str) -> str:
    """The delimiter the header row uses most (headers rarely quote the delimiter);
    csv.Sniffer decides when the header has none of them."""
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best]:
        return best
    try:
        return csv.Sniffer().sniff(first_line, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return ","


def _open_csv(stream: IO[bytes], head: bytes, encoding: str) -> Table:
    size = max(1, stream.seek(0, io.SEEK_END))
    stream.seek(0)
    if encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    try:
        text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
    except LookupError:
        raise UploadError(
            _("The file can't be read as %(encoding)s.") % {"encoding": encoding}
        ) from None
    try:
        first_line = text.readline()
        text.seek(0)
    except UnicodeDecodeError:
        raise _undecodable(stream, encoding) from None
    if "\x00" in first_line:
        raise UploadError(_("This file is not a CSV or XLSX file (it contains binary data)."))
    delimiter = _guess_delimiter(first_line.lstrip("\ufeff"))
    rows = _csv_rows(csv.reader(text, delimiter=delimiter), stream, encoding)
    try:
        _number, headers = next(rows)
    except StopIteration:
        raise UploadError(_("The file is empty.")) from None
    headers = [h.lstrip("\ufeff").strip() for h in headers]

    def position() -> float:
        return min(1.0, text.buffer.tell() / size)

    return Table(
        headers=headers, rows=rows, encoding=encoding, delimiter=delimiter, position=position
    )


def _csv_rows(
    reader: Iterator[list[str]], stream: IO[bytes], encoding: str
) -> Iterator[tuple[int, list[str]]]:
    number = 0
    try:
        for cells in reader:
            number += 1
            if "".join(cells).strip():  # not a blank row
                yield number, cells
    except UnicodeDecodeError:
        raise _undecodable(stream, encoding) from None
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise UploadError(
                _(
                    "Row %(row)s has a cell longer than %(limit)s characters: a quotation "
                    'mark (") probably opens a cell and is never closed.'
                )
                % {"row": number + 1, "limit": f"{MAX_CELL_CHARACTERS:,}"}
            ) from None
        raise UploadError(
            _("Row %(row)s is not valid CSV (%(reason)s).") % {"row": number + 1, "reason": exc}
        ) from None


def _undecodable(stream: IO[bytes], encoding: str) -> UploadError:
    """The error for a file that ``encoding`` can't decode, naming its first bad line.

    The text layer decodes several kilobytes at a time, so where it failed says little;
    only on this error path is the file read again, line by line, to find the line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    stream.seek(0)
    try:
        for piece in stream:
            line += decoder.decode(piece).count("\n")
    except UnicodeDecodeError:
        pass
    return UploadError(
        _(
            "Row %(row)s can't be read as %(encoding)s. Save the file as UTF-8 CSV, "
            "or choose its encoding when you upload it."
        )
        % {"row": line, "encoding": encoding}
    )


# --- XLSX ---------------------------------------------------------------------------------


def _open_xlsx(stream: IO[bytes]) -> Table:
    limit = settings.SUPPLIER_IMPORT_MAX_UNCOMPRESSED_BYTES
    try:
        with zipfile.ZipFile(stream) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise UploadError(_("This Excel workbook is damaged and can't be read.")) from None
    if inflated > limit:
        raise UploadError(
            _(
                "This workbook would unpack to more than %(limit)s MB, more than a supplier "
                "list needs. Save it as CSV and upload that."
            )
            % {"limit": limit // (1024 * 1024)}
        )
    stream.seek(0)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:  # openpyxl raises many kinds for a broken workbook
        raise UploadError(_("This Excel workbook is damaged and can't be read.")) from None
    counter = [0]
    rows = _xlsx_rows(sheet.iter_rows(values_only=True), counter)
    try:
        _number, headers = next(rows)
    except StopIteration:
        raise UploadError(_("The file is empty.")) from None
    total = max(1, sheet.max_row or 1)
    return Table(
        headers=[h.strip() for h in headers],
        rows=rows,
        encoding="xlsx",
        position=lambda: min(1.0, counter[0] / total),
    )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


def _xlsx_rows(
    values: Iterator[tuple[object, ...]], counter: list[int]
) -> Iterator[tuple[int, list[str]]]:
    number = 0
    try:
        for row in values:
            number += 1
            counter[0] = number
            cells = [_cell_text(v) for v in row]
            if any(cell.strip() for cell in cells):
                yield number, cells
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise UploadError(_("This Excel workbook is damaged and can't be read.")) from None
