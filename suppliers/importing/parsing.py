"""Turn an uploaded file into rows of text cells, whatever Excel produced.

CSV (any delimiter of , ; tab, UTF-8 with or without BOM, UTF-16, Windows code pages,
GB18030) is decoded as a stream, so memory stays flat whatever the file's size. XLSX is
read with openpyxl in read-only mode after its members' uncompressed sizes are checked, so
a zip bomb is refused before anything is inflated.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from suppliers.importing import ImportFileError

# Legacy code pages Excel writes on Windows, by the language of the text.
LEGACY_ENCODINGS = ("cp1252", "cp1254", "cp1258", "gb18030")
ENCODING_CHOICES = ("utf-8", "utf-16", *LEGACY_ENCODINGS)
DELIMITERS = (",", ";", "\t", "|")
CSV_EXTENSIONS = (".csv", ".txt", ".tsv")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
_SAMPLE = 1 << 20


@dataclass
class Table:
    """A file's header and a lazy iterator of (row number as Excel shows it, cells)."""

    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    encoding: str = ""
    delimiter: str = ""
    # How far through the file the reader is, 0.0 to 1.0 (for the progress bar).
    position: Callable[[], float] = field(default=lambda: 0.0)


def open_table(stream: IO[bytes], *, filename: str, encoding: str = "") -> Table:
    """Read the header of ``stream`` and return a Table; raise ImportFileError if unusable."""
    name = filename.lower()
    if not name.endswith(CSV_EXTENSIONS + XLSX_EXTENSIONS):
        raise ImportFileError(_("Upload a .csv, .txt or .xlsx file."))
    head = stream.read(_SAMPLE)
    stream.seek(0)
    if not head.strip():
        raise ImportFileError(_("The file is empty."))
    is_zip = head.startswith(b"PK\x03\x04")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("This is an old Excel .xls workbook (or a protected one). Save it as .xlsx or CSV.")
        )
    if name.endswith(XLSX_EXTENSIONS):
        if not is_zip:
            raise ImportFileError(
                _("This file is not an Excel workbook, although its name ends in .xlsx.")
            )
        return _open_xlsx(stream)
    if is_zip:
        raise ImportFileError(
            _(
                "This file is an Excel workbook although its name ends in %(ext)s. "
                "Rename it to .xlsx or save it from Excel as CSV."
            )
            % {"ext": name[name.rfind(".") :]}
        )
    return _open_csv(stream, head, encoding)


# --- CSV ----------------------------------------------------------------------------------


def detect_encoding(stream: IO[bytes], head: bytes) -> str:
    """BOMs first; then UTF-8 if the whole file decodes; else the likeliest legacy page."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if b"\x00" in sample:
        # UTF-16 without a BOM puts a NUL beside every ASCII letter; anything else is binary.
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > len(sample) // 4 and even == 0:
            return "utf-16-le"
        if even > len(sample) // 4 and odd == 0:
            return "utf-16-be"
        raise ImportFileError(_("This file is not a CSV or XLSX file (it contains binary data)."))
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(_SAMPLE):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    finally:
        stream.seek(0)
    return guess_legacy_encoding(_sample_with_context(stream))


def _sample_with_context(stream: IO[bytes]) -> bytes:
    """The first few megabytes that hold non-ASCII bytes (enough to tell code pages apart)."""
    parts: list[bytes] = []
    size = 0
    while size < 4 * _SAMPLE and (chunk := stream.read(_SAMPLE)):
        if any(b >= 0x80 for b in chunk):
            parts.append(chunk)
            size += len(chunk)
    stream.seek(0)
    return b"".join(parts)


# Letters only one of the legacy pages produces, and letters that betray a wrong guess.
_MARKERS = {
    "cp1254": ("ğĞışŞİ", "ÌìÒòÕõÐðÝýÞþ"),
    "cp1258": ("ơƠưƯđĐ\u0300\u0301\u0303\u0309\u0323", "₫"),
    "cp1252": ("", "ÐðÝýÞþ"),
}


def guess_legacy_encoding(sample: bytes) -> str:
    """Pick among Windows-1252/1254/1258 and GB18030 by what the decoded text looks like."""
    try:
        chinese = sample.decode("gb18030")
    except UnicodeDecodeError:
        chinese = ""
    if chinese:
        wide = [c for c in chinese if ord(c) >= 0x80]
        in_gb2312 = sum(1 for c in wide if _is_gb2312(c))
        if wide and in_gb2312 / len(wide) >= 0.9:
            return "gb18030"
    best, best_score = "cp1252", 0
    for encoding, (good, bad) in _MARKERS.items():
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = sum(text.count(c) for c in good) - 3 * sum(text.count(c) for c in bad)
        if score > best_score:
            best, best_score = encoding, score
    return best


def _is_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


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
    encoding = encoding or detect_encoding(stream, head)
    if encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
    try:
        first_line = text.readline()
        text.seek(0)
    except UnicodeDecodeError:
        raise ImportFileError(
            _("The file can't be read as %(encoding)s.") % {"encoding": encoding}
        ) from None
    delimiter = _guess_delimiter(first_line.lstrip("\ufeff"))
    reader = csv.reader(text, delimiter=delimiter)
    rows = _csv_rows(reader, encoding)
    try:
        _number, headers = next(rows)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    headers = [h.lstrip("\ufeff").strip() for h in headers]

    def position() -> float:
        return min(1.0, text.buffer.tell() / size)

    return Table(
        headers=headers, rows=rows, encoding=encoding, delimiter=delimiter, position=position
    )


def _csv_rows(reader: Iterator[list[str]], encoding: str) -> Iterator[tuple[int, list[str]]]:
    number = 0
    try:
        for cells in reader:
            number += 1
            if "".join(cells).strip():  # not a blank row
                yield number, cells
    except UnicodeDecodeError:
        raise ImportFileError(
            _(
                "Row %(row)s can't be read as %(encoding)s. Save the file as UTF-8 CSV, "
                "or choose its encoding when you upload it."
            )
            % {"row": number + 1, "encoding": encoding}
        ) from None
    except csv.Error as exc:
        raise ImportFileError(
            _("Row %(row)s is not valid CSV (%(reason)s).") % {"row": number + 1, "reason": exc}
        ) from None


# --- XLSX ---------------------------------------------------------------------------------


def _open_xlsx(stream: IO[bytes]) -> Table:
    limit = settings.SUPPLIER_IMPORT_MAX_UNCOMPRESSED_BYTES
    try:
        with zipfile.ZipFile(stream) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ImportFileError(_("This Excel workbook is damaged and can't be read.")) from None
    if inflated > limit:
        raise ImportFileError(
            _(
                "This workbook would unpack to more than %(limit)s MB, more than a supplier "
                "list needs. Save it as CSV and upload that."
            )
            % {"limit": limit // (1024 * 1024)}
        )
    stream.seek(0)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:  # openpyxl raises many kinds for a broken workbook
        raise ImportFileError(_("This Excel workbook is damaged and can't be read.")) from None
    counter = [0]
    rows = _xlsx_rows(sheet.iter_rows(values_only=True), counter)
    try:
        _number, headers = next(rows)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
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
        raise ImportFileError(_("This Excel workbook is damaged and can't be read.")) from None
