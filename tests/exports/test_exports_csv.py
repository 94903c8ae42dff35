"""CSV and the zip of CSVs, read back with the csv module and zipfile (pure, no database)."""

import csv
import datetime as dt
import io
import subprocess
import uuid
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from exports import csvs
from exports.sheets import Sheet
from tests.tools import need

TZ = ZoneInfo("Asia/Bangkok")
BOM = b"\xef\xbb\xbf"
THAI = 'ร้าน\u200bข้าว\u200bแกง\nซอย "สาม", หลัง\r\nตลาด'
SHOPS = Sheet(name="shops", headers=["ชื่อร้าน", "n"], kinds=["text", "integer"])
TREES = Sheet(name="shops/trees", headers=["_parent_record_id", "species"], kinds=["text", "text"])


def parse(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8"), newline="")))


def unzip(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert all(info.flag_bits & 0x08 for info in archive.infolist())  # streamed: sizes after the data
    return {name: archive.read(name) for name in archive.namelist()}


def test_one_sheet_is_one_csv_with_a_bom_crlf_and_thai_quoted_intact():
    texts = [THAI, "  เว้นวรรค\u200b  ", 'quote " only', "a,b", ""]
    data = b"".join(csvs.write([SHOPS], [(0, [t, i]) for i, t in enumerate(texts)], TZ))
    assert data.startswith(BOM + "ชื่อร้าน,n\r\n".encode())
    assert parse(data) == [SHOPS.headers, *([t, str(i)] for i, t in enumerate(texts))]
    lines = data.split(b"\r\n")
    assert lines[-1] == b"" and len(lines) == 1 + 1 + len(texts) + 1  # the one CRLF inside THAI is quoted
    assert b'"' + THAI.replace('"', '""').encode() + b'"' in data


def test_values_are_written_as_documented():
    kinds = [
        "text",
        "boolean",
        "boolean",
        "date",
        "datetime",
        "time",
        "decimal",
        "decimal",
        "integer",
        "text",
        "text",
    ]
    sheet = Sheet(name="v", headers=[f"c{i}" for i in range(len(kinds))], kinds=kinds)
    key = uuid.UUID(int=1)
    row = [
        None,
        True,
        False,
        dt.date(2026, 11, 20),
        dt.datetime(2026, 11, 20, 2, 12, 30, tzinfo=dt.UTC),
        dt.time(9, 15),
        2.0,
        0.1,
        -7,
        Decimal("1.10"),
        key,
    ]
    data = b"".join(csvs.write([sheet], [(0, row)], TZ))
    assert parse(data)[1] == [
        "",
        "true",
        "false",
        "2026-11-20",
        "2026-11-20T09:12:30+07:00",
        "09:15:00",
        "2.0",
        "0.1",
        "-7",
        "1.10",
        str(key),
    ]


def test_an_empty_export_is_a_header_only_file_or_zip():
    assert b"".join(csvs.write([SHOPS], iter(()), TZ)) == BOM + "ชื่อร้าน,n\r\n".encode()
    files = unzip(b"".join(csvs.write([SHOPS, TREES], [], TZ)))
    assert {name: parse(data) for name, data in files.items()} == {
        "shops.csv": [SHOPS.headers],
        "shops_trees.csv": [TREES.headers],
    }


def test_several_sheets_are_a_zip_of_one_csv_each_named_safely_and_uniquely():
    names = ["shops", "SHOPS", 'a/b\\c:d*e?f"g<h>i|j', "CON", "ก" * 100, "ก" * 100, " .hidden. ", "x\x00y"]
    sheets = [Sheet(name=n, headers=["h"], kinds=["text"]) for n in names]
    files = unzip(b"".join(csvs.write(sheets, [(i, [f"แถว {i}"]) for i in range(len(names))], TZ)))
    assert list(files) == [
        "shops.csv",
        "SHOPS~2.csv",
        "a_b_c_d_e_f_g_h_i_j.csv",
        "_CON.csv",
        "ก" * 65 + ".csv",
        "ก" * 64 + "~2.csv",
        "hidden.csv",
        "x_y.csv",
    ]
    assert all(len(name.encode()) <= 200 for name in files)
    assert [parse(data) for data in files.values()] == [[["h"], [f"แถว {i}"]] for i in range(len(names))]


def test_ten_thousand_interleaved_rows_land_in_order_in_their_files():
    rows = []
    for n in range(4_000):
        rows.append((0, [f"ร้าน {n}\n{n}", str(n)]))
        rows.extend((1, [str(n), f'ต้น "{i}"']) for i in range(n % 3 + 1))
    assert len(rows) >= 10_000
    files = unzip(b"".join(csvs.write([SHOPS, TREES], rows, TZ)))
    assert parse(files["shops.csv"])[1:] == [v for s, v in rows if s == 0]
    assert parse(files["shops_trees.csv"])[1:] == [v for s, v in rows if s == 1]


def test_the_csv_streams_in_chunks_before_the_rows_run_out():
    pulled = 0

    def rows():
        nonlocal pulled
        for n in range(30_000):
            pulled += 1
            yield 0, [f"ร้านค้า {n}", n]

    chunks = csvs.write([SHOPS], rows(), TZ)
    next(chunks)
    second = next(chunks)
    assert pulled < 30_000 and len(second) >= 64 * 1024


def test_info_zip_accepts_the_streamed_zip(tmp_path):
    need("unzip", "unzip")
    path = tmp_path / "export.zip"
    path.write_bytes(b"".join(csvs.write([SHOPS, TREES], [(0, [THAI, 1]), (1, ["1", "ไทร"])], TZ)))
    done = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert "No errors detected" in done.stdout


def test_a_row_for_a_sheet_that_is_not_there_is_refused():
    with pytest.raises(IndexError):
        b"".join(csvs.write([SHOPS], [(1, ["x"])], TZ))


def test_the_files_in_the_zip_are_dated_now_and_readable_once_extracted():
    archive = zipfile.ZipFile(io.BytesIO(b"".join(csvs.write([SHOPS, TREES], [], TZ))))
    today = dt.date.today()
    assert {info.date_time[:2] for info in archive.infolist()} == {(today.year, today.month)}
    assert {info.external_attr >> 16 & 0o777 for info in archive.infolist()} == {0o644}


def test_stopping_the_download_stops_reading_rows():
    pulled = 0

    def rows():
        nonlocal pulled
        for n in range(100_000):
            pulled += 1
            yield n % 2, [f"ร้าน {n} " * 10, str(n)]

    chunks = csvs.write([SHOPS, TREES], rows(), TZ)
    next(chunks)
    seen = pulled
    chunks.close()
    assert seen < 100_000 and pulled == seen


def test_every_line_has_as_many_fields_as_the_header():
    rows = [(0, ["short"]), (0, ["long", 1, "extra", "more"]), (0, [])]
    assert parse(b"".join(csvs.write([SHOPS], rows, TZ)))[1:] == [["short", ""], ["long", "1"], ["", ""]]


def test_a_naive_datetime_is_written_as_it_is():
    sheet = Sheet(name="v", headers=["when"], kinds=["datetime"])
    data = b"".join(csvs.write([sheet], [(0, [dt.datetime(2026, 11, 20, 9, 12)])], TZ))
    assert parse(data)[1] == ["2026-11-20T09:12:00"]
