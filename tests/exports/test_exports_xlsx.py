"""The streamed .xlsx, read back by openpyxl cell by cell (pure, no database)."""

import datetime as dt
import io
import math
import tracemalloc
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from exports import xlsx
from exports.sheets import Sheet

TZ = ZoneInfo("Asia/Bangkok")
THAI = 'ร้าน\u200bข้าว\u200bแกง\nซอย "สาม", หลัง\r\nตลาด'
ALL_KINDS = Sheet(
    name="sidewalk_audit",
    headers=["text", "integer", "decimal", "boolean", "date", "datetime", "time", "url"],
    kinds=["text", "integer", "decimal", "boolean", "date", "datetime", "time", "url"],
)


def book(sheets, rows, tz=TZ, **options):
    data = b"".join(xlsx.write(sheets, rows, tz))
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    return openpyxl.load_workbook(io.BytesIO(data), **options)


def values(ws):
    return [list(row) for row in ws.iter_rows(values_only=True)]


def test_each_kind_comes_back_as_its_excel_type():
    moment = dt.datetime(2026, 11, 20, 2, 12, 30, tzinfo=dt.UTC)
    row = [
        THAI,
        42,
        2.5,
        True,
        dt.date(2026, 11, 20),
        moment,
        dt.time(9, 15, 30),
        "https://example.org/?a=1&b=2",
    ]
    ws = book([ALL_KINDS], [(0, row)]).active
    got = [ws.cell(2, c).value for c in range(1, 9)]
    assert got[:4] == [THAI.replace("\r\n", "\n"), 42, 2.5, True]
    assert type(got[1]) is int and type(got[3]) is bool
    assert got[4] == dt.datetime(2026, 11, 20)  # a date reads back as a datetime at midnight
    assert got[5] == dt.datetime(2026, 11, 20, 9, 12, 30)  # local (UTC+7), naive
    assert got[6] == dt.time(9, 15, 30)
    assert got[7] == "https://example.org/?a=1&b=2"
    assert ws.cell(2, 8).hyperlink.target == "https://example.org/?a=1&b=2"
    assert ws.cell(2, 5).number_format == "yyyy-mm-dd"
    assert ws.cell(2, 6).number_format == "yyyy-mm-dd hh:mm:ss"


def test_a_link_reads_as_its_address_where_formulas_are_evaluated():
    ws = book([ALL_KINDS], [(0, [None] * 7 + ['https://example.org/?q="x"'])], data_only=True).active
    assert ws["H2"].value == 'https://example.org/?q="x"'


def test_a_link_that_is_not_web_or_too_long_stays_text():
    long = "https://example.org/" + "a" * 2100
    ws = book([ALL_KINDS], [(0, [None] * 7 + ["javascript:alert(1)"]), (0, [None] * 7 + [long])]).active
    assert ws["H2"].value == "javascript:alert(1)" and ws["H2"].hyperlink is None
    assert ws["H3"].value == long and ws["H3"].hyperlink is None


def test_links_past_what_excel_keeps_in_a_sheet_become_formulas(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_HYPERLINKS", 2)
    urls = [f"https://example.org/{i}.jpg" for i in range(3)]
    repeat = Sheet(name="rooms", headers=["picture"], kinds=["url"])
    rows = [(0, [None] * 7 + [u]) for u in urls] + [(1, [u]) for u in urls]
    wb = book([ALL_KINDS, repeat], rows)
    for ws, column in ((wb.worksheets[0], "H"), (wb.worksheets[1], "A")):
        assert [ws[f"{column}{r}"].hyperlink.target for r in (2, 3)] == urls[:2]
        assert ws[f"{column}4"].value == f'=HYPERLINK("{urls[2]}")'


def test_values_excel_cannot_hold_as_numbers_or_dates_are_kept_as_text():
    row = [Decimal("NaN"), 12345678901234567, math.nan, None, dt.date(1899, 1, 2), Decimal("1.10"), None, 7]
    ws = book([ALL_KINDS], [(0, row)]).active
    got = [ws.cell(2, c).value for c in range(1, 9)]
    assert got == ["NaN", "12345678901234567", "nan", None, "1899-01-02", 1.1, None, 7]


def test_a_naive_datetime_is_written_as_it_is():
    ws = book([ALL_KINDS], [(0, [None] * 5 + [dt.datetime(2026, 11, 20, 9, 12)])]).active
    assert ws["F2"].value == dt.datetime(2026, 11, 20, 9, 12)


def test_a_short_row_leaves_its_last_cells_empty_without_shifting():
    ws = book([ALL_KINDS], [(0, ["a", 1]), (0, ["b", 2, 3.5])]).active
    assert values(ws)[1:] == [["a", 1, *[None] * 6], ["b", 2, 3.5, *[None] * 5]]


def test_thai_with_zero_width_spaces_newlines_and_edge_spaces_round_trips():
    texts = [THAI, "  ต้นไม้ใหญ่\u200b  ", "\nบรรทัดแรกว่าง", "<b>&amp;</b>"]
    sheet = Sheet(name="ข้อความ", headers=["ชื่อร้าน"], kinds=["text"])
    ws = book([sheet], [(0, [t]) for t in texts]).active
    assert ws.title == "ข้อความ"
    assert [r[0] for r in values(ws)] == ["ชื่อร้าน", *[t.replace("\r\n", "\n") for t in texts]]


def test_a_text_past_excels_cell_limit_is_cut_with_a_visible_marker():
    long = "ก" * 39_990 + "0123456789"
    emoji = "🌳" * 20_000  # two UTF-16 units each: Excel counts 40,000
    ws = book([ALL_KINDS], [(0, [long]), (0, [emoji])]).active
    cut, cut_emoji = ws["A2"].value, ws["A3"].value
    assert len(cut) <= 32_767 and cut.startswith("ก" * 32_000)
    assert cut.endswith(f"… [cut: {40_000 - cut.index('…')} characters]")
    assert len(cut_emoji.encode("utf-16-le")) // 2 <= 32_767
    assert cut_emoji.startswith("🌳" * 16_000) and "[cut: " in cut_emoji


def test_control_characters_are_removed_everywhere():
    sheet = Sheet(name="bad\x01name", headers=["a\x02b"], kinds=["text"])
    ws = book([sheet], [(0, ["x\x00y\x07z\x1b\tw\ufffe"])]).active
    assert ws.title == "badname"
    assert values(ws) == [["ab"], ["xyz\tw"]]


def test_sheet_names_are_cleaned_cut_and_made_unique():
    names = [
        "ก" * 40,
        "ก" * 40,
        "a[b]c:d*e?f/g\\h",
        "History",
        "'quoted'",
        "Trees",
        "trees",
        "trees",
        "_dictionary",
    ]
    sheets = [Sheet(name=n, headers=["x"], kinds=["text"]) for n in names]
    titles = book(sheets, []).sheetnames
    assert titles == [
        "ก" * 31,
        "ก" * 29 + "~2",
        "a_b_c_d_e_f_g_h",
        "History_",
        "quoted",
        "Trees",
        "trees~2",
        "trees~3",
        "_dictionary",
    ]
    assert all(len(t) <= 31 for t in titles)


def test_every_sheet_has_a_bold_frozen_header_and_an_autofilter_over_its_rows():
    trees = Sheet(name="trees", headers=["_parent_record_id", "species"], kinds=["text", "text"])
    empty = Sheet(
        name="visits", headers=["_parent_record_id", "date", "note"], kinds=["text", "date", "text"]
    )
    rows = [(0, ["x"] * 8), (1, ["r1", "ไทร"]), (1, ["r1", "ยาง"]), (0, ["y"] * 8), (1, ["r2", "สัก"])]
    wb = book([ALL_KINDS, trees, empty], rows)
    assert [ws.freeze_panes for ws in wb] == ["A2", "A2", "A2"]
    assert [ws.auto_filter.ref for ws in wb] == ["A1:H3", "A1:B4", "A1:C1"]
    assert all(cell.font.b for ws in wb for cell in ws[1])
    assert not any(cell.font.b for cell in wb["trees"][2])
    assert values(wb["visits"]) == [["_parent_record_id", "date", "note"]]


def test_an_export_with_no_rows_and_one_with_no_sheets_are_valid_workbooks():
    wb = book([ALL_KINDS, Sheet(name="_dictionary", headers=["column"], kinds=["text"])], iter(()))
    assert [values(ws) for ws in wb] == [[ALL_KINDS.headers], [["column"]]]
    assert book([], []).sheetnames == ["Sheet1"]


def test_ten_thousand_interleaved_rows_land_in_order_on_their_sheets():
    main = Sheet(name="main", headers=["n", "label"], kinds=["integer", "text"])
    trees = Sheet(name="trees", headers=["parent", "i"], kinds=["integer", "integer"])
    rows = []
    for n in range(5_000):
        rows.append((0, [n, f"ร้าน {n}"]))
        rows.extend((1, [n, i]) for i in range(n % 3))
        if n % 3 == 0:
            rows.append((1, [n, 99]))
    assert len(rows) >= 10_000
    wb = book([main, trees], rows)
    assert values(wb["main"])[1:] == [list(v) for s, v in rows if s == 0]
    assert values(wb["trees"])[1:] == [list(v) for s, v in rows if s == 1]


def test_the_workbook_streams_in_chunks_before_the_rows_run_out():
    pulled = 0

    def rows():
        nonlocal pulled
        for n in range(40_000):
            pulled += 1
            yield 0, [n, f"แถว {n} " * 4, n / 3, True, None, None, None, None]

    chunks = xlsx.write([ALL_KINDS], rows(), TZ)
    first = next(chunks)
    assert pulled < 40_000 and len(first) >= 64 * 1024
    rest = list(chunks)
    assert len(rest) > 2 and all(len(c) >= 64 * 1024 for c in rest[:-1])
    data = first + b"".join(rest)
    assert all(i.flag_bits & 0x08 for i in zipfile.ZipFile(io.BytesIO(data)).infolist())  # data descriptors


def test_memory_stays_flat_while_a_large_repeat_sheet_is_spooled():
    trees = Sheet(name="trees", headers=[f"c{i}" for i in range(10)], kinds=["text"] * 10)
    rows = ((1, [f"ต้นไม้ {n} {i} " * 3 for i in range(10)]) for n in range(20_000))
    tracemalloc.start()
    size = sum(len(chunk) for chunk in xlsx.write([ALL_KINDS, trees], rows, TZ))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert size > 1_000_000
    assert peak < 16 * 1024 * 1024  # the spool's XML alone is over 30 MB


def test_a_sheet_needs_a_kind_for_every_header():
    with pytest.raises(ValueError, match="2 headers but 1 kinds"):
        Sheet(name="x", headers=["a", "b"], kinds=["text"])


def test_a_sheet_past_excels_row_limit_goes_on_in_a_continuation_sheet(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 4)  # header and three rows; Excel's own is 1,048,576
    main = Sheet(name="main", headers=["n"], kinds=["integer"])
    trees = Sheet(name="trees", headers=["n", "i"], kinds=["integer", "integer"])
    taken = Sheet(name="main~2", headers=["x"], kinds=["text"])
    rows = [r for n in range(8) for r in [(0, [n]), (1, [n, 0]), (1, [n, 1])]]
    wb = book([main, trees, taken], rows)
    assert wb.sheetnames == [
        "main",
        "main~3",
        "main~4",
        "trees",
        *(f"trees~{i}" for i in range(2, 7)),
        "main~2",
    ]
    mains = [values(wb[name]) for name in ("main", "main~3", "main~4")]
    assert mains == [[["n"], [0], [1], [2]], [["n"], [3], [4], [5]], [["n"], [6], [7]]]
    tree_rows = [row for name in wb.sheetnames[3:-1] for row in values(wb[name])[1:]]
    assert tree_rows == [[n, i] for n in range(8) for i in (0, 1)]
    assert [wb[name].auto_filter.ref for name in ("main", "main~4", "trees~6")] == ["A1:A4", "A1:A3", "A1:B2"]
    assert all(wb[name].freeze_panes == "A2" for name in wb.sheetnames)


def test_stopping_the_download_stops_reading_rows():
    pulled = 0

    def rows():
        nonlocal pulled
        for n in range(100_000):
            pulled += 1
            yield n % 2, [f"แถว {n} " * 10, n, None, None, None, None, None, None]

    chunks = xlsx.write([ALL_KINDS, ALL_KINDS], rows(), TZ)
    next(chunks)
    seen = pulled
    chunks.close()
    assert seen < 100_000 and pulled == seen


def test_a_sheet_whose_xml_nears_two_gib_goes_on_in_a_continuation_sheet(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_XML", 40_000)  # bytes; the real one is just under 2 GiB
    monkeypatch.setattr(xlsx, "_BATCH", 5_000)
    main = Sheet(name="main", headers=["n", "note"], kinds=["integer", "text"])
    trees = Sheet(name="trees", headers=["n", "note"], kinds=["integer", "text"])
    rows = [(s, [n, f"ต้นไม้ใหญ่ {n} " * 20]) for n in range(300) for s in (0, 1)]
    wb = book([main, trees], rows)
    assert len(wb.sheetnames) > 4
    assert wb.sheetnames[:2] == ["main", "main~2"] and "trees~2" in wb.sheetnames
    got = {
        s: [row for name in wb.sheetnames if name.startswith(s) for row in values(wb[name])[1:]]
        for s in ("main", "trees")
    }
    assert got["main"] == got["trees"] == [[n, f"ต้นไม้ใหญ่ {n} " * 20] for n in range(300)]
