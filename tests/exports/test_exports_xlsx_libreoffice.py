"""The streamed .xlsx opened by Debian's LibreOffice: it must convert without error and show the
Thai text, dates in the project's time zone and the links as their addresses."""

import csv
import datetime as dt
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from exports import xlsx
from exports.sheets import Sheet
from tests.tools import need


@pytest.fixture(autouse=True)
def libreoffice() -> None:
    need("soffice", "libreoffice-calc-nogui")


TZ = ZoneInfo("Asia/Bangkok")
THAI = 'ร้าน\u200bข้าว\u200bแกง\nซอย "สาม", หลังตลาด'
# Comma, double quote, UTF-8 (76), from line 1; the 12th token -1 writes every sheet to its own file.
UTF8_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1"
ALL_SHEETS = UTF8_CSV + ",,0,false,true,false,false,false,-1"


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> str:
    """A LibreOffice profile of the tests' own, so a LibreOffice already running elsewhere does not
    swallow the conversion."""
    return tmp_path_factory.mktemp("lo-profile").as_uri()


def convert(path: Path, to: str, profile: str) -> subprocess.CompletedProcess:
    command = ["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", to]
    return subprocess.run(
        [*command, "--outdir", str(path.parent), str(path)], capture_output=True, text=True, timeout=120
    )


def read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_libreoffice_converts_the_workbook_with_thai_dates_and_links(tmp_path, profile):
    main = Sheet(
        name="สำรวจทางเท้า",
        headers=["ชื่อร้าน", "จำนวน", "ความกว้าง", "ผ่าน", "วันที่", "เวลาส่ง", "รูป"],
        kinds=["text", "integer", "decimal", "boolean", "date", "datetime", "url"],
    )
    moment = dt.datetime(2026, 11, 20, 2, 12, 30, tzinfo=dt.UTC)
    rows = [(0, [THAI, 3, 2.5, True, dt.date(2026, 11, 20), moment, "https://example.org/p/1.jpg"])]
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"".join(xlsx.write([main], rows, TZ)))
    done = convert(path, UTF8_CSV, profile)
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stdout + done.stderr
    assert read(tmp_path / "export.csv") == [
        main.headers,
        [THAI, "3", "2.5", "TRUE", "2026-11-20", "2026-11-20 09:12:30", "https://example.org/p/1.jpg"],
    ]


def test_libreoffice_reads_every_sheet_including_cut_text_and_empty_repeats(tmp_path, profile):
    sheets = [
        Sheet(name="shops", headers=["_record_id", "note"], kinds=["text", "text"]),
        Sheet(name="shops/trees", headers=["_parent_record_id", "species"], kinds=["text", "text"]),
        Sheet(name="shops/visits", headers=["_parent_record_id", "when"], kinds=["text", "date"]),
    ]
    rows = [(0, ["r1", "ก" * 40_000]), (1, ["r1", "ต้น\u200bไทร"]), (0, ["r2", "\x07ok"]), (1, ["r2", "ยาง"])]
    path = tmp_path / "repeats.xlsx"
    path.write_bytes(b"".join(xlsx.write(sheets, rows, TZ)))
    done = convert(path, ALL_SHEETS, profile)
    assert done.returncode == 0, done.stderr
    shops, trees, visits = (
        read(tmp_path / f"repeats-{name}.csv") for name in ("shops", "shops_trees", "shops_visits")
    )
    assert shops[1][1].startswith("ก" * 32_000) and shops[1][1].endswith("characters]")
    assert shops[2] == ["r2", "ok"]
    assert trees == [["_parent_record_id", "species"], ["r1", "ต้น\u200bไทร"], ["r2", "ยาง"]]
    assert visits == [["_parent_record_id", "when"]]


def test_libreoffice_keeps_links_to_files_as_hyperlinks(tmp_path, profile):
    """LibreOffice reads the cell as a link: saved again as .xlsx by it, openpyxl finds the hyperlink."""
    sheet = Sheet(name="shops", headers=["shop", "front"], kinds=["text", "url"])
    url = "https://survey.example.org/api/v1/projects/korat/submissions/u-1/attachments/front%20door.jpg"
    path = tmp_path / "links.xlsx"
    path.write_bytes(b"".join(xlsx.write([sheet], [(0, ["ป้าศรี", url])], TZ)))
    (tmp_path / "again").mkdir()
    command = [
        "soffice",
        f"-env:UserInstallation={profile}",
        "--headless",
        "--convert-to",
        "xlsx:Calc MS Excel 2007 XML",
    ]
    done = subprocess.run(
        [*command, "--outdir", str(tmp_path / "again"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    cell = openpyxl.load_workbook(tmp_path / "again" / "links.xlsx").active["B2"]
    assert cell.value == url
    assert cell.hyperlink is not None and cell.hyperlink.target == url
