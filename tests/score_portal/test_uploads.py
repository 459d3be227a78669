"""The one upload reader: files in the encodings Excel writes, built byte by byte here, and
garbage, which always ends in UploadError with a message for the uploader."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.utils import translation
from openpyxl import Workbook

from score_portal.uploads import MAX_CELL_CHARACTERS, SAMPLE_BYTES, UploadError, open_table


def read(data: bytes, filename: str = "suppliers.csv", **kwargs) -> tuple[str, str, list]:
    """(encoding, delimiter, [header, *rows]) of a file."""
    table = open_table(io.BytesIO(data), filename=filename, **kwargs)
    return table.encoding, table.delimiter, [table.headers, *(cells for _n, cells in table.rows)]


# Each file spelled out in bytes; comments give the text.
@pytest.mark.parametrize(
    ("data", "encoding", "delimiter", "rows"),
    [
        pytest.param(
            # Excel "Unicode text": BOM FF FE, UTF-16 LE, tab, CRLF.  代码<TAB>工厂 / A-1<TAB>中国
            b"\xff\xfe" + b"\xe3\x4e\x01\x78\t\x00\xe5\x5d\x82\x53\r\x00\n\x00"
            b"A\x00-\x001\x00\t\x00\x2d\x4e\xfd\x56\r\x00\n\x00",
            "utf-16",
            "\t",
            [["代码", "工厂"], ["A-1", "中国"]],
            id="utf-16-le-bom-tab",
        ),
        pytest.param(
            # The same without its BOM (some exporters leave it out).
            b"\xe3\x4e\x01\x78\t\x00\xe5\x5d\x82\x53\r\x00\n\x00"
            b"A\x00-\x001\x00\t\x00\x2d\x4e\xfd\x56\r\x00\n\x00",
            "utf-16-le",
            "\t",
            [["代码", "工厂"], ["A-1", "中国"]],
            id="utf-16-le-no-bom",
        ),
        pytest.param(
            # Big-endian without a BOM: 工厂,国家 / 中国工厂,中国
            b"\x5d\xe5\x53\x82\x00,\x56\xfd\x5b\xb6\x00\n"
            b"\x4e\x2d\x56\xfd\x5d\xe5\x53\x82\x00,\x4e\x2d\x56\xfd\x00\n",
            "utf-16-be",
            ",",
            [["工厂", "国家"], ["中国工厂", "中国"]],
            id="utf-16-be-no-bom",
        ),
        pytest.param(
            # GB18030 (Chinese Windows' "ANSI"): 工厂,国家 / 中国工厂,中国
            b"\xb9\xa4\xb3\xa7,\xb9\xfa\xbc\xd2\r\n\xd6\xd0\xb9\xfa\xb9\xa4\xb3\xa7,\xd6\xd0\xb9\xfa\r\n",
            "gb18030",
            ",",
            [["工厂", "国家"], ["中国工厂", "中国"]],
            id="gb18030-comma",
        ),
        pytest.param(
            # Windows-1254 (Turkish), semicolon: Firma;Şehir / İpek Dokuma;Uşak / Ağır Örgü;Iğdır
            b"Firma;\xdeehir\r\n\xddpek Dokuma;U\xfeak\r\nA\xf0\xfdr \xd6rg\xfc;I\xf0d\xfdr\r\n",
            "cp1254",
            ";",
            [["Firma", "Şehir"], ["İpek Dokuma", "Uşak"], ["Ağır Örgü", "Iğdır"]],
            id="cp1254-semicolon",
        ),
        pytest.param(
            # Windows-1252, semicolon (French or German Excel): Filature Émile;Besançon
            b"Nom;Ville\r\nFilature \xc9mile;Besan\xe7on\r\nM\xfcller Strickwaren;K\xf6ln\r\n",
            "cp1252",
            ";",
            [["Nom", "Ville"], ["Filature Émile", "Besançon"], ["Müller Strickwaren", "Köln"]],
            id="cp1252-semicolon",
        ),
        pytest.param(
            # UTF-8 with BOM ("CSV UTF-8" in Excel): Name,City / Özdemir,İzmir
            b"\xef\xbb\xbfName,City\r\n\xc3\x96zdemir,\xc4\xb0zmir\r\n",
            "utf-8-sig",
            ",",
            [["Name", "City"], ["Özdemir", "İzmir"]],
            id="utf-8-bom",
        ),
        pytest.param(
            # UTF-8 without BOM, tab: Tên<TAB>Thành phố / Việt Tiến<TAB>Hà Nội
            b"T\xc3\xaan\tTh\xc3\xa0nh ph\xe1\xbb\x91\r\n"
            b"Vi\xe1\xbb\x87t Ti\xe1\xba\xbfn\tH\xc3\xa0 N\xe1\xbb\x99i\r\n",
            "utf-8",
            "\t",
            [["Tên", "Thành phố"], ["Việt Tiến", "Hà Nội"]],
            id="utf-8-tab",
        ),
        pytest.param(
            b"Name,Country\nA Mill,BD\n",
            "utf-8",
            ",",
            [["Name", "Country"], ["A Mill", "BD"]],
            id="ascii",
        ),
    ],
)
def test_each_encoding_excel_writes_reads_intact(data, encoding, delimiter, rows):
    assert read(data) == (encoding, delimiter, rows)


def test_the_encoding_is_told_by_the_first_non_ascii_line_even_far_into_the_file():
    ascii_rows = b"Plain Mill,Road 1\r\n" * (2 * SAMPLE_BYTES // 19)  # 128 KB of ASCII
    data = b"Name,Address\r\n" + ascii_rows + b"\xddpek Dokuma,U\xfeak\r\n"
    encoding, _delimiter, rows = read(data)
    assert encoding == "cp1254"
    assert rows[-1] == ["İpek Dokuma", "Uşak"]
    assert len(rows) == 1 + 2 * SAMPLE_BYTES // 19 + 1


def test_a_forced_encoding_wins_over_detection():
    # A Windows-1252 "Ý" (0xDD) read as chosen: Windows-1254's "İ".
    assert read(b"Name\r\n\xddpek\r\n", encoding="cp1254")[2] == [["Name"], ["İpek"]]
    assert read(b"Name\r\n\xddpek\r\n", encoding="cp1252")[2] == [["Name"], ["Ýpek"]]


def test_cells_longer_than_csvs_default_limit_read():
    address = "x" * 200_000  # csv's own limit is 131,072 characters
    data = f'Name,Address\r\nA Mill,"{address}"\r\n'.encode()
    assert read(data)[2][1] == ["A Mill", address]


def test_a_megabyte_cell_reads_for_the_caller_to_refuse_its_row():
    address = "x" * (1024 * 1024 + 1)
    data = f'Name,Address\r\nA Mill,"{address}"\r\nB Mill,2 Road\r\n'.encode()
    assert read(data)[2][1:] == [["A Mill", address], ["B Mill", "2 Road"]]


def test_a_quote_that_never_closes_is_named_with_its_row():
    data = b'Name,Address\r\nA Mill,1 Road\r\nB Mill,"2 Road\r\n' + b"C Mill,3 Road\r\n" * 300_000
    assert len(data) > MAX_CELL_CHARACTERS
    with pytest.raises(UploadError) as caught:
        read(data)
    assert str(caught.value) == (
        'Row 3 has a cell longer than 4,194,304 characters: a quotation mark (") '
        "probably opens a cell and is never closed."
    )


def test_blank_rows_are_skipped_and_rows_keep_excels_numbers():
    table = open_table(io.BytesIO(b"Name\r\nA\r\n\r\n,\r\nB\r\n"), filename="codes.csv")
    assert table.headers == ["Name"]
    assert list(table.rows) == [(2, ["A"]), (5, ["B"])]


def test_rows_are_read_as_they_are_asked_for():
    data = b"Name\r\n" + b"A Mill\r\n" * 100_000
    table = open_table(io.BytesIO(data), filename="suppliers.csv")
    assert next(table.rows) == (2, ["A Mill"])
    assert 0 < table.position() < 0.5  # the reader has not gone through the file
    assert sum(1 for _row in table.rows) == 99_999
    assert table.position() == 1.0


def _workbook(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_cells_come_out_as_text():
    data = _workbook([["Name", "Workers", "Since"], ["Özdemir", 320, None], [None, None, None]])
    assert read(data, "suppliers.xlsx") == (
        "xlsx",
        "",
        [["Name", "Workers", "Since"], ["Özdemir", "320", ""]],
    )


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "suppliers.csv", "The file is empty."),
        (b"  \r\n\r\n", "suppliers.csv", "The file is empty."),
        (b"Name,Country\n", "suppliers.pdf", "Upload a .csv, .txt or .xlsx file."),
        (
            b"\x00\x01\x02\x03binary\x00\xff\xfe\x00",
            "suppliers.csv",
            "This file is not a CSV or XLSX file (it contains binary data).",
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
            "codes.csv",
            "This file is not a CSV or XLSX file (it contains binary data).",
        ),
        (
            bytes(range(0x80, 0x100)) * 8,  # no NUL, but no text in any encoding
            "suppliers.txt",
            "The file's text encoding could not be recognised (or it is not a text file). "
            "Save it as UTF-8 CSV and upload it again.",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
            "suppliers.xlsx",
            "This is an old Excel .xls workbook (or a protected one). Save it as .xlsx or CSV.",
        ),
        (
            _zip({"xl/workbook.xml": b"<workbook/>"}),
            "suppliers.csv",
            "This file is an Excel workbook although its name ends in .csv. "
            "Rename it to .xlsx or save it from Excel as CSV.",
        ),
        (
            b"Name,Country\n",
            "suppliers.xlsx",
            "This file is not an Excel workbook, although its name ends in .xlsx.",
        ),
        (
            _zip({"hello.txt": b"not a workbook"}),
            "suppliers.xlsx",
            "This Excel workbook is damaged and can't be read.",
        ),
        (
            b"PK\x03\x04" + b"\x00" * 100,
            "suppliers.xlsx",
            "This Excel workbook is damaged and can't be read.",
        ),
        (
            _workbook([]),
            "suppliers.xlsx",
            "The file is empty.",
        ),
    ],
)
def test_garbage_gets_one_error_with_a_message(data, filename, message):
    """Every one of these ends in the same exception with a readable message."""
    with pytest.raises(UploadError) as caught:
        read(data, filename)
    assert str(caught.value) == message


def test_a_row_the_chosen_encoding_cannot_read_is_named():
    with pytest.raises(UploadError) as caught:
        read(b"Name\r\n" + b"A Mill\r\n" * 5000 + b"\xddpek\r\n", encoding="utf-8")
    assert str(caught.value) == (
        "Row 5002 can't be read as utf-8. Save the file as UTF-8 CSV, "
        "or choose its encoding when you upload it."
    )
    with pytest.raises(UploadError, match=r"^Row 1 can't be read as utf-8\."):
        read(b"\xddsim\r\nA\r\n", encoding="utf-8")


def test_a_workbook_that_would_unpack_too_far_is_refused_before_it_is_opened(settings):
    settings.SUPPLIER_IMPORT_MAX_UNCOMPRESSED_BYTES = 2 * 1024 * 1024
    data = _zip({"xl/worksheets/sheet1.xml": b"\x00" * (3 * 1024 * 1024)})
    with pytest.raises(UploadError) as caught:
        read(data, "suppliers.xlsx")
    assert str(caught.value).startswith("This workbook would unpack to more than 2 MB")


def test_the_message_is_in_the_uploaders_language():
    with translation.override("tr"), pytest.raises(UploadError) as caught:
        read(b"", "suppliers.csv")
    assert str(caught.value) == "Dosya boş."
