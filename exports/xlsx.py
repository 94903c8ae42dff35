"""An Excel workbook streamed as it is made: SpreadsheetML written by hand, several times faster
than openpyxl's write-only mode (benchmarks/export_writers.py), read back by openpyxl and LibreOffice.

The first sheet streams straight into the zip; the other sheets' rows (repeats, arriving beside
their record's row) are spooled, on disk past a few MB, and written after it, so memory stays
flat. Cells are inline strings (no shared-string table to hold), numbers, booleans and real
Excel dates; aware datetimes are shown in the project's time zone, naive ones as they are. A
sheet past Excel's 1,048,576 rows or 2 GiB of XML (no ZIP64, which Excel reads strictly) goes on
in a continuation sheet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from exports.sheets import Kind, Rows, Sheet, unique
from exports.zipstream import Spool, ZipStream

MAX_CELL = 32_767  # characters (UTF-16 units) Excel holds in one cell
MAX_SHEET_NAME = 31
MAX_ROWS = 1_048_576  # rows in an Excel sheet, header included
# Bytes of one worksheet's XML: past 2 GiB zipfile needs ZIP64, which Excel reads strictly (sizes in
# the local header, not the zeros a stream writes), so a sheet goes on in the next one before that.
MAX_XML = 2**31 - 2**26
MAX_LINK = 255  # HYPERLINK()'s limit on its target
MAX_HYPERLINK = 2079  # characters of a hyperlink's address Excel keeps
MAX_HYPERLINKS = 65_530  # hyperlinks Excel keeps in one worksheet; past them a link is a formula or text
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPECIAL = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_SPACE = " \t\r\n"  # Excel trims these at either end of a <t> unless told to preserve them
_FORBIDDEN_IN_NAME = re.compile(r"[\[\]:*?/\\]")
_EPOCH = date(1899, 12, 30).toordinal()
_FIRST_SERIAL = 61  # 1900-03-01: earlier serials carry Excel's 1900 leap-year bug, so they go as text
_EXACT_INT = 10**15  # Excel keeps 15 significant digits; longer integers (ids) go as text
_BATCH = 256 * 1024  # characters of XML compressed at a time

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_DATE, _DATETIME, _TIME, _BOLD, _LINK = 1, 2, 3, 4, 5  # indexes into cellXfs below
_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}"><numFmts count="3">'
    '<numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/>'
    '<numFmt numFmtId="166" formatCode="hh:mm:ss"/></numFmts><fonts count="3">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><u/><sz val="11"/><color rgb="FF0563C1"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="6">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    + "".join(
        f'<xf numFmtId="{n}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        for n in (164, 165, 166)
    )
    + "".join(
        f'<xf numFmtId="0" fontId="{f}" fillId="0" borderId="0" xfId="0" applyFont="1"/>' for f in (1, 2)
    )
    + '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_SELECTED = ' tabSelected="1"'
_WIDTHS: dict[Kind, int] = {"datetime": 20, "date": 12, "time": 10}


def write(sheets: list[Sheet], rows: Rows, tz: ZoneInfo) -> Iterator[bytes]:
    """Yields the .xlsx in chunks of about 64 KiB; rows of sheet i may arrive in any interleaving.

    A sheet too big for one worksheet goes on in `<name>~2` (header repeated), never cut short."""
    sheets = sheets or [Sheet(name="Sheet1", headers=[], kinds=[])]
    names = unique((s.name for s in sheets), sheet_name)
    taken = {name.casefold() for name in names}
    parts = [_Worksheet(s, name, i + 1, tz) for i, (s, name) in enumerate(zip(sheets, names, strict=True))]
    current, first, batch = list(parts), parts[0], []
    stream = ZipStream()
    try:
        stream.add("_rels/.rels", _relationships([("rId1", "officeDocument", "xl/workbook.xml")]))
        stream.add("xl/styles.xml", _STYLES)
        with stream.open(first.path) as member:
            member.write(first.head().encode())
            for index, values in rows:
                part = current[index]
                if part.count >= MAX_ROWS or part.size >= MAX_XML:
                    part = current[index] = _continued(part, parts, taken, tz)
                if part is not first:
                    part.spool.add(part.row(values))
                    part.size = part.spool.size
                    continue
                batch.append(text := first.row(values))
                first.pending += len(text)
                if first.pending >= _BATCH:
                    first.size += member.write("".join(batch).encode())
                    batch.clear()
                    first.pending = 0
                    yield from stream.drain()
            member.write("".join(batch).encode())
            for _ in first.finish(member):
                yield from stream.drain()
        for part in sorted(parts[1:], key=lambda p: p.number):
            with stream.open(part.path) as member:
                member.write(part.head().encode())
                for _ in part.spool.copy_to(member):
                    yield from stream.drain()
                for _ in part.finish(member):
                    yield from stream.drain()
            yield from stream.drain()
        for part in parts:
            if part.linked:
                with stream.open(part.rels_path) as member:
                    member.write(f'{_HEAD}<Relationships xmlns="{_PKG_REL}">'.encode())
                    for _ in part.rels.copy_to(member):
                        yield from stream.drain()
                    member.write(b"</Relationships>")
                yield from stream.drain()
        stream.add("xl/workbook.xml", _workbook(parts))
        links = [(f"rId{p.number}", "worksheet", p.path[3:]) for p in parts]
        stream.add("xl/_rels/workbook.xml.rels", _relationships([*links, ("rId0", "styles", "styles.xml")]))
        stream.add("[Content_Types].xml", _content_types(parts))
        yield stream.close()
    finally:
        for part in parts:
            part.close()


def _continued(full: _Worksheet, parts: list[_Worksheet], taken: set[str], tz: ZoneInfo) -> _Worksheet:
    """The next worksheet for a sheet that filled one, placed right after it in the workbook."""
    n = 2
    while (name := sheet_name(full.sheet.name, f"~{n}")).casefold() in taken:
        n += 1
    taken.add(name.casefold())
    part = _Worksheet(full.sheet, name, len(parts) + 1, tz)
    parts.insert(parts.index(full) + 1, part)
    return part


def sheet_name(name: str, suffix: str) -> str:
    """A name Excel accepts: `[]:*?/\\` replaced, no apostrophe at either end, at most 31 characters."""
    name = _ILLEGAL.sub("", _FORBIDDEN_IN_NAME.sub("_", name)).strip("'").strip() or "Sheet"
    if name.casefold() == "history":  # Excel reserves it
        name += "_"
    return _cut_units(name, MAX_SHEET_NAME - len(suffix)).rstrip("'") + suffix


def cell_text(text: str) -> str:
    """Text fit for a cell: XML-illegal control characters removed (Excel refuses the file
    otherwise); past 32,767 characters cut, ending in "… [cut: N characters]" (N removed)."""
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    if len(text) <= MAX_CELL // 2 or _units(text) <= MAX_CELL:
        return text
    kept = _cut_units(text, MAX_CELL - 40)
    return f"{kept}… [cut: {len(text) - len(kept)} characters]"


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut_units(text: str, limit: int) -> str:
    """Cuts to at most `limit` UTF-16 units, as Excel counts (a Thai letter is one, an emoji two)."""
    text = text[:limit]
    if _units(text) <= limit:
        return text
    return text.encode("utf-16-le")[: limit * 2].decode("utf-16-le", errors="ignore")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(text: str) -> str:
    return _escape(text).replace('"', "&quot;")


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class _Worksheet:
    """One worksheet part: turns a sheet's rows into <row> elements, counting them for the autofilter;
    every one but the first holds its rows in a spool until the first is written."""

    def __init__(self, sheet: Sheet, name: str, number: int, tz: ZoneInfo) -> None:
        self.sheet, self.name, self.number, self.tz, self.count = sheet, name, number, tz, 1
        self.path = f"xl/worksheets/sheet{number}.xml"
        self.size = self.pending = 0  # bytes of XML written or spooled; characters not yet encoded
        self.spool = Spool(flush_at=_BATCH)  # so `size` lags the rows by at most one batch
        self.last = _column(max(len(sheet.headers) - 1, 0))
        self.refs = [f'<c r="{_column(i)}' for i in range(len(sheet.headers))]
        self.links = [kind == "url" for kind in sheet.kinds]
        # Links to files: a <hyperlink> each after the rows, its address in the sheet's relationships.
        self.hyperlinks, self.rels, self.linked = Spool(), Spool(), 0
        self.rels_path = f"xl/worksheets/_rels/sheet{number}.xml.rels"

    def head(self) -> str:
        widths = (
            max(_WIDTHS.get(kind, 10), min(len(header) + 3, 40))
            for header, kind in zip(self.sheet.headers, self.sheet.kinds, strict=True)
        )
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1)
        )
        header = "".join(
            f'{ref}1" s="{_BOLD}"{_text(h)}' for ref, h in zip(self.refs, self.sheet.headers, strict=True)
        )
        return (
            f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><sheetViews><sheetView workbookViewId="0"'
            f"{_SELECTED if self.number == 1 else ''}>"
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/>{f"<cols>{cols}</cols>" if cols else ""}'
            f'<sheetData><row r="1">{header}</row>'
        )

    def finish(self, member: IO[bytes]) -> Iterator[None]:
        """The rest of the worksheet after its rows: the autofilter, then the hyperlinks (spooled)."""
        area = f'<autoFilter ref="A1:{self.last}{self.count}"/>' if self.sheet.headers else ""
        member.write(f"</sheetData>{area}".encode())
        if self.linked:
            member.write(b"<hyperlinks>")
            yield from self.hyperlinks.copy_to(member)
            member.write(b"</hyperlinks>")
        member.write(b"</worksheet>")

    def link(self, ref: str, n: str, url: str) -> str:
        """A cell showing `url`, linked to it (an external hyperlink Excel, LibreOffice and openpyxl follow)."""
        self.linked += 1
        rid = f"rL{self.linked}"
        self.hyperlinks.add(f'<hyperlink ref="{ref[6:]}{n}" r:id="{rid}"/>')
        self.rels.add(
            f'<Relationship Id="{rid}" Type="{_HYPERLINK}" Target="{_attribute(url)}" TargetMode="External"/>'
        )
        return f'{ref}{n}" s="{_LINK}" t="inlineStr"><is><t>{_escape(url)}</t></is></c>'

    def close(self) -> None:
        for spool in (self.spool, self.hyperlinks, self.rels):
            spool.close()

    @property
    def area(self) -> str:
        return f"$A$1:${self.last}${self.count}"

    def row(self, values: Sequence[Any]) -> str:
        self.count += 1
        n = str(self.count)
        out = [f'<row r="{n}">']
        for ref, link, value in zip(self.refs, self.links, values, strict=False):  # a short row ends early
            if value is None:
                continue
            kind = type(value)
            if kind is str:
                is_url = link and value[:8].lower().startswith(("https://", "http://"))
                if is_url and len(value) <= MAX_HYPERLINK and self.linked < MAX_HYPERLINKS:
                    out.append(self.link(ref, n, _ILLEGAL.sub("", value)))
                elif is_url and len(value) <= MAX_LINK:
                    url = _escape(_ILLEGAL.sub("", value))
                    formula = url.replace('"', '""')
                    out.append(f'{ref}{n}" t="str" s="{_LINK}"><f>HYPERLINK("{formula}")</f><v>{url}</v></c>')
                else:
                    out.append(f'{ref}{n}"{_text(value)}')
            elif (kind is int and -_EXACT_INT < value < _EXACT_INT) or (
                kind is float and math.isfinite(value)
            ):
                out.append(f'{ref}{n}"><v>{value!r}</v></c>')  # others (nan, long ids) end as text below
            elif kind is bool:
                out.append(f'{ref}{n}" t="b"><v>{1 if value else 0}</v></c>')
            elif isinstance(value, datetime):
                if value.tzinfo is not None:
                    value = value.astimezone(self.tz)
                days = value.toordinal() - _EPOCH
                if days < _FIRST_SERIAL:
                    out.append(f'{ref}{n}"{_text(value.replace(tzinfo=None).isoformat(sep=" "))}')
                else:
                    serial = days + _seconds(value) / 86400
                    out.append(f'{ref}{n}" s="{_DATETIME}"><v>{serial!r}</v></c>')
            elif isinstance(value, date):
                days = value.toordinal() - _EPOCH
                if days < _FIRST_SERIAL:
                    out.append(f'{ref}{n}"{_text(value.isoformat())}')
                else:
                    out.append(f'{ref}{n}" s="{_DATE}"><v>{days}</v></c>')
            elif kind is Decimal and value.is_finite():  # numeric columns read from PostgreSQL
                out.append(f'{ref}{n}"><v>{value}</v></c>')
            elif isinstance(value, time):
                out.append(f'{ref}{n}" s="{_TIME}"><v>{_seconds(value) / 86400!r}</v></c>')
            else:
                out.append(f'{ref}{n}"{_text(str(value))}')
        out.append("</row>")
        return "".join(out)


def _seconds(value: datetime | time) -> float:
    return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6


def _text(value: str) -> str:
    """The rest of an inline-string cell, from its type on."""
    if _SPECIAL.search(value) or len(value) > MAX_CELL // 2:
        value = _escape(cell_text(value))
    if value and (value[0] in _XML_SPACE or value[-1] in _XML_SPACE):
        return f' t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'
    return f' t="inlineStr"><is><t>{value}</t></is></c>'


def _content_types(parts: list[_Worksheet]) -> str:
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = [("/xl/workbook.xml", "sheet.main"), ("/xl/styles.xml", "styles")]
    overrides += [(f"/{part.path}", "worksheet") for part in parts]
    return (
        f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{p}" ContentType="{kind}.{t}+xml"/>' for p, t in overrides)
        + "</Types>"
    )


def _relationships(targets: list[tuple[str, str, str]]) -> str:
    base = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    return (
        f'{_HEAD}<Relationships xmlns="{_PKG_REL}">'
        + "".join(
            f'<Relationship Id="{id}" Type="{base}{kind}" Target="{target}"/>' for id, kind, target in targets
        )
        + "</Relationships>"
    )


def _workbook(parts: list[_Worksheet]) -> str:
    """Written last, once each sheet's row count (its autofilter's range) is known."""
    sheets = "".join(
        f'<sheet name="{_attribute(p.name)}" sheetId="{p.number}" r:id="rId{p.number}"/>' for p in parts
    )
    filters = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"{_escape(chr(39) + p.name.replace(chr(39), chr(39) * 2) + chr(39))}!{p.area}</definedName>"
        for i, p in enumerate(parts)
        if p.sheet.headers
    )
    return (
        f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{sheets}</sheets>{f'<definedNames>{filters}</definedNames>' if filters else ''}</workbook>"
    )
