"""CSV that Excel opens with Thai intact: UTF-8 with a BOM (ODK Central's lacks one, central#752),
comma, RFC 4180 quoting, CRLF. One table is one file; several are a zip of one CSV each, streamed.

Values: None is empty; booleans are `true`/`false`, the xsd:boolean words ODK Central's CSV passes
through from XForms; dates, datetimes and times are ISO 8601, datetimes in the time zone given
(`2026-11-20T09:12:00+07:00`, offset kept so nothing is ambiguous); floats are Python's shortest
round-trip form, `.0` kept (`3.0`): the column is decimal in the dictionary, and a reader that
infers types (pandas, Excel) keeps it one type instead of ints here and floats there.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from exports.sheets import Rows, Sheet, unique
from exports.zipstream import CHUNK, Spool, ZipStream

BOM = "\ufeff"
MAX_FILE_NAME = 200  # bytes of UTF-8 with ".csv"; most file systems stop at 255
_UNSAFE_IN_FILE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
_BATCH = 256 * 1024  # characters of CSV compressed or spooled at a time


def write(sheets: list[Sheet], rows: Rows, tz: ZoneInfo) -> Iterator[bytes]:
    """Yields one CSV when there is one sheet, else a zip with `<name>.csv` per sheet, in ~64 KiB chunks.

    Every line has as many fields as the header: a short row is padded, a long one cut."""
    if len(sheets) <= 1:
        yield from _single(sheets[0] if sheets else Sheet(name="", headers=[], kinds=[]), rows, tz)
    else:
        yield from _zipped(sheets, rows, tz)


def file_name(name: str, suffix: str) -> str:
    """A file name every common file system takes: no separators or characters Windows forbids,
    no reserved device name, no dot or space at either end, at most 200 bytes with `.csv`."""
    name = _UNSAFE_IN_FILE_NAME.sub("_", name).strip(" .") or "table"
    if name.split(".")[0].casefold() in _RESERVED:
        name = "_" + name
    room = MAX_FILE_NAME - len(".csv") - len(suffix.encode())
    name = name.encode()[:room].decode(errors="ignore").rstrip(" .")
    return f"{name}{suffix}.csv"


class _Lines:
    """What csv.writer writes, gathered as text for the caller to take in batches."""

    def __init__(self, sheet: Sheet, tz: ZoneInfo) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.writer = csv.writer(self, lineterminator="\r\n")
        self.convert = _Converters(tz).__getitem__
        self.width = len(sheet.headers)
        self.writer.writerow(sheet.headers)

    def write(self, line: str) -> None:
        self.parts.append(line)
        self.size += len(line)

    def row(self, values: Sequence[Any]) -> None:
        if len(values) != self.width:
            values = [*values[: self.width], *[None] * (self.width - len(values))]
        convert = self.convert
        self.writer.writerow([v if (to_text := convert(type(v))) is None else to_text(v) for v in values])

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        self.size = 0
        return text


class _Converters(dict[type, Callable[[Any], str] | None]):
    """Text for the types the csv module would not write as wanted, found once per type (a
    subclass takes its base's); str, int, float (by repr) and None it writes itself, and anything
    else as its str()."""

    def __init__(self, tz: ZoneInfo) -> None:
        def moment(value: datetime) -> str:
            return (value.astimezone(tz) if value.tzinfo is not None else value).isoformat()

        words = {True: "true", False: "false"}
        plain = dict.fromkeys([str, int, float, type(None)])
        super().__init__(plain)
        self.update({bool: words.__getitem__, datetime: moment, date: date.isoformat, time: time.isoformat})
        self._known = dict(self)

    def __missing__(self, kind: type) -> Callable[[Any], str] | None:
        found = next((self._known[base] for base in kind.__mro__ if base in self._known), None)
        self[kind] = found
        return found


def _single(sheet: Sheet, rows: Rows, tz: ZoneInfo) -> Iterator[bytes]:
    lines = _Lines(sheet, tz)
    lines.parts.insert(0, BOM)
    for index, values in rows:
        if index:
            raise IndexError(f"a row for sheet {index}, but there is one sheet")
        lines.row(values)
        if lines.size >= CHUNK:
            yield lines.take().encode()
    yield lines.take().encode()


def _zipped(sheets: list[Sheet], rows: Rows, tz: ZoneInfo) -> Iterator[bytes]:
    stream = ZipStream()
    yield from write_into(stream, sheets, rows, tz)
    yield stream.close()


def write_into(stream: ZipStream, sheets: list[Sheet], rows: Rows, tz: ZoneInfo) -> Iterator[bytes]:
    """`<name>.csv` per sheet written into `stream` (left open for more), yielding what it drains.

    The first sheet streams into the zip; the others are spooled and follow it."""
    names = unique((s.name for s in sheets), file_name)
    lines = [_Lines(s, tz) for s in sheets]
    spools = [Spool() for _ in sheets[1:]]
    try:
        for spool, table in zip(spools, lines[1:], strict=True):
            spool.add(BOM + table.take())
        first = lines[0]
        with stream.open(names[0], zip64=True) as member:  # its size is not known in advance
            member.write((BOM + first.take()).encode())
            for index, values in rows:
                table = lines[index]
                table.row(values)
                if table.size >= _BATCH:
                    if index:
                        spools[index - 1].add(table.take())
                    else:
                        member.write(table.take().encode())
                        yield from stream.drain()
            member.write(first.take().encode())
        for name, spool, table in zip(names[1:], spools, lines[1:], strict=True):
            spool.add(table.take())
            with stream.open(name, zip64=spool.total() > 2**31 - 1) as member:
                for _ in spool.copy_to(member):
                    yield from stream.drain()
            yield from stream.drain()
    finally:
        for spool in spools:
            spool.close()
