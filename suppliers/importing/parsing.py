"""Supplier lists are read by the portal's one upload reader, ``score_portal.uploads``
(encoding detection, delimiter, XLSX and its zip-bomb guard); this module names what the
import uses of it. What is particular to a supplier list starts at the header row:
``columns.map_headers`` and ``analysis``."""

from score_portal.uploads import (
    CSV_EXTENSIONS,
    SPREADSHEET_CELL_CHARACTERS,
    XLSX_EXTENSIONS,
    Table,
    open_table,
)

__all__ = [
    "CSV_EXTENSIONS",
    "SPREADSHEET_CELL_CHARACTERS",
    "XLSX_EXTENSIONS",
    "Table",
    "open_table",
]
