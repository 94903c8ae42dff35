"""A first publish's plain records piped from the survey database into the city tables, typed by SQL.

Most records hold each answer as the type its column takes (a text as a JSON string, an integer as a
JSON integer, a date as `YYYY-MM-DD`); for those the export's cell is the answer itself. PostgreSQL
writes their rows as COPY's text lines (`COPY (SELECT ...) TO STDOUT` here, `COPY ... FROM STDIN`
there), and this process only checks each record's answers with one typed msgspec decode (a strict
test that leaves no room for another value: a decimal within ±1e15 written in at most 20 characters,
a date on a day every month has, a choice with no blank in it) before passing its line on. Every other record goes through
the export's flattener. Forms whose layout this does not cover (groups, renames, nested repeats,
widened columns, metadata columns) are sent wholly by the flattener: `plan` answers None for them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from exports.city import (
    BIGINT,
    BOOLEAN,
    DATE,
    DOUBLE,
    KEY,
    TEXT,
    TEXT_ARRAY,
    TIMESTAMPTZ,
    UUID,
    CityTable,
    Layout,
)
from exports.schema import Column
from survey_api.stores.city_views import literal, q

DAY = r"[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
"""A date valid in every month and year (the 29th to 31st are left to the flattener)."""
INSTANT = (
    DAY + r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
SHORT_NUMBER = 20
"""A double from an answer with a longer text is left to the flattener (no overflow or underflow)."""
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Double = Annotated[float, msgspec.Meta(ge=-1e15, le=1e15)]
Word = Annotated[str, msgspec.Meta(pattern=r"^\S*$")]
"""A select_one's answer with no blank: the export shows it as it is."""
Day = Annotated[str, msgspec.Meta(pattern=f"^{DAY}$")]
Instant = Annotated[str, msgspec.Meta(pattern=f"^{INSTANT}$")]
Options = Annotated[list[str], msgspec.Meta(min_length=1)]
JSON_COLUMNS = frozenset({"select_multiple", "geopoint"})
"""Answers read from the record as jsonb (others as text: a JSON string's own text, no quotes)."""
LONG = "\x7f"
"""What a double's cell says when its text is longer than SHORT_NUMBER: its record is not piped."""
SPECIAL = frozenset(
    {"select_one", "select_multiple", "rank", "integer", "decimal", "range", "date", "datetime", "time"}
    | {"geotrace", "geoshape", "geopoint", "start-geopoint"}
)
"""Field types whose cell is not the JSON string as it is."""
RECORD_LEADING = {
    "_record_id": (UUID, "records.id::text"),
    "_revision": (BIGINT, "records.revision"),
    "_status": (TEXT, "records.status"),
    "_version": (TEXT, "records.form_version"),
    "_created_at": (TIMESTAMPTZ, "to_json(records.created_at) #>> '{}'"),
    "_updated_at": (TIMESTAMPTZ, "to_json(records.updated_at) #>> '{}'"),
    "_submitted_by": (TEXT, "users.email"),
    "_lat": (DOUBLE, "records.lat"),
    "_lon": (DOUBLE, "records.lon"),
    "_accuracy": (DOUBLE, "records.accuracy"),
}
ANSWER_TYPES: dict[tuple[str, str], Any] = {
    ("integer", BIGINT): Int64,
    ("decimal", DOUBLE): Double,
    ("range", DOUBLE): Double,
    ("date", DATE): Day,
    ("datetime", TIMESTAMPTZ): Instant,
    ("select_one", TEXT): Word,
    ("select_multiple", TEXT_ARRAY): Options,
}


class Cell(msgspec.Struct, frozen=True, kw_only=True):
    value: str
    """SQL whose text is the column's COPY value."""
    answer: Any = None
    """The type its answer must decode as for `value` to be the flattener's (None: any)."""
    double: bool = False
    """A double from an answer: its text must be short."""


class TablePlan(msgspec.Struct, frozen=True, kw_only=True):
    table: CityTable
    select: str
    """SELECT of the table's rows (its columns' values as text) from `records`, before a WHERE."""
    doubles: tuple[int, ...]
    """Columns holding a double from an answer."""


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    tables: list[TablePlan]
    answers: Any
    """A msgspec type the record's answers decode as when every row of it is written exactly."""
    repeats: tuple[str, ...]
    """The fields of `answers` holding a repeat's entries."""


def plan(layout: Layout, kinds: Sequence[Sequence[str]], pii: bool) -> Plan | None:
    """How to pipe the form's plain records, or None when its layout is not one this covers."""
    schema = layout.schema
    repeats = schema.tables[1:]
    if any(schema.aliases.values()) or any(kind != "repeat" for kind in schema.containers.values()):
        return None
    if any("/" in t.path or t.parent for t in repeats) or len(repeats) != len(schema.containers):
        return None
    for table, kind in zip(layout.tables, kinds, strict=True):
        if [c.type for c in table.columns] != list(kind):
            return None  # a column widened in the database: the flattener's text of it is needed
    main = _cells(layout.tables[0], schema.tables[0].columns, pii, None)
    if main is None:
        return None
    fields = _fields(schema.tables[0].columns, main, "")
    sources = {c.source: c.type for c in schema.tables[0].columns if c.source}
    names = sorted(sources)
    declared = ", ".join(f"{q(n)} {'jsonb' if sources[n] in JSON_COLUMNS else 'text'}" for n in names)
    values = f"jsonb_to_record(records.answers) AS t({declared})" if names else "(SELECT) AS t"
    tables = [
        TablePlan(
            table=layout.tables[0],
            select=_select(
                ["records.answers::text", *(c.value for c in main)],
                f"records LEFT JOIN users ON users.id = records.created_by CROSS JOIN LATERAL {values}",
            ),
            doubles=tuple(i for i, c in enumerate(main) if c.double),
        )
    ]
    for city_table, table in zip(layout.tables[1:], schema.tables[1:], strict=True):
        cells = _cells(city_table, table.columns, pii, table.path)
        if cells is None or any(c.double for c in cells):
            return None
        entry = _struct("Entry", _fields(table.columns, cells[1:], f"{table.path}/"))
        fields.append((f"f{len(fields)}", list[entry] | None, None, table.path))
        entries = f"jsonb_array_elements(records.answers -> {literal(table.path)}) WITH ORDINALITY AS x(e, i)"
        tables.append(
            TablePlan(
                table=city_table,
                select=_select(
                    [c.value for c in cells],
                    f"records CROSS JOIN LATERAL {entries}",
                    "jsonb_typeof(e) = 'object' AND ",
                ),
                doubles=(),
            )
        )
    return Plan(
        tables=tables,
        answers=_struct("Answers", fields),
        repeats=tuple(f[0] for f in fields[len(fields) - len(repeats) :]),
    )


def _struct(name: str, fields: Sequence[tuple[Any, ...]]) -> Any:
    """A Struct of (field, type, default, JSON key) that ignores other keys."""
    return msgspec.defstruct(name, [f[:3] for f in fields], kw_only=True, rename={f[0]: f[3] for f in fields})


def _fields(columns: Sequence[Column], cells: Sequence[Cell], prefix: str) -> list[tuple[Any, ...]]:
    """(struct field, its type, default, its JSON key) of each answer the columns read."""
    found: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {}
    for column, cell in zip(columns, cells, strict=True):
        if not column.source or cell.answer is None:
            continue
        key = column.source.removeprefix(prefix)
        if column.type == "geopoint":
            parts.setdefault(key, {})[column.part] = cell.answer
        else:
            found[key] = cell.answer
    for key, of in parts.items():
        point = msgspec.defstruct("Point", [(p, t | None, None) for p, t in of.items()], kw_only=True)
        found[key] = point
    return [(f"f{i}", kind | None, None, key) for i, (key, kind) in enumerate(found.items())]


def _select(values: Sequence[str], source: str, extra: str = "") -> str:
    return f"SELECT {', '.join(values)} FROM {source} WHERE {extra}"


def _cells(
    city_table: CityTable, columns: Sequence[Column], pii: bool, repeat: str | None
) -> list[Cell] | None:
    found = []
    if repeat is not None:  # the entry's key: its record's id and its path
        assert city_table.columns[0].path == KEY
        found.append(Cell(value=f"records.id::text || '/' || {literal(repeat)} || '[' || i || ']'"))
    for city_column, column in zip(city_table.columns[len(found) :], columns, strict=True):
        cell = _cell(column, city_column.type, pii, repeat)
        if cell is None:
            return None
        found.append(cell)
    return found


def _cell(column: Column, kind: str, pii: bool, repeat: str | None) -> Cell | None:
    if column.sensitive and not pii:
        return Cell(value="NULL")
    if not column.source:
        leading = (
            RECORD_LEADING.get(column.path)
            if repeat is None
            else {
                "_parent_record_id": (UUID, "records.id::text"),
                "_parent_path": (TEXT, "NULL"),
                "_index": (BIGINT, "i"),
                "_path": (TEXT, f"{literal(repeat)} || '[' || i || ']'"),
            }.get(column.path)
        )
        if leading is None or leading[0] != kind:
            return None
        return Cell(value=leading[1])
    name = column.source if repeat is None else column.source.removeprefix(f"{repeat}/")
    if "/" in name or (repeat is not None and not column.source.startswith(f"{repeat}/")):
        return None
    answer = f"t.{q(name)}" if repeat is None else f"(e -> {literal(name)})"
    value = answer if repeat is None else f"({answer} #>> '{{}}')"  # t's are text but for JSON_COLUMNS
    is_list = f"jsonb_typeof({answer}) = 'array'"
    if column.part is not None:
        if column.type == "select_multiple" and kind == BOOLEAN:
            return Cell(
                value=f"CASE WHEN {is_list} THEN {answer} ? {literal(column.part)} END", answer=Options
            )
        if column.type == "geopoint" and kind == DOUBLE and repeat is None:
            part = f"({answer} -> {literal(column.part)})"
            number = _short(f"({part} #>> '{{}}')")
            return Cell(
                value=f"CASE WHEN jsonb_typeof({part}) = 'number' THEN {number} END",
                answer=Double,
                double=True,
            )
        return None
    if column.type == "select_multiple" and kind == TEXT_ARRAY:
        return Cell(
            value=f"CASE WHEN {is_list} THEN ARRAY(SELECT jsonb_array_elements_text({answer})) END",
            answer=Options,
        )
    typed = ANSWER_TYPES.get((column.type, kind))
    if typed is not None:
        return Cell(value=_short(value) if kind == DOUBLE else value, answer=typed, double=kind == DOUBLE)
    if column.type in SPECIAL or kind != TEXT:
        return None
    return Cell(value=value, answer=str)


def _short(number: str) -> str:
    return f"CASE WHEN length({number}) <= {SHORT_NUMBER} THEN {number} ELSE {literal(LONG)} END"


def records(form_id: uuid.UUID, after: tuple[int, int], upto: tuple[int, int]) -> str:
    """The WHERE of a form's clean records changed after `after` up to `upto` (in the change feed's
    order), from transactions that have all ended."""
    return (
        f"records.form_id = {literal(str(form_id))}::uuid AND records.merged_into IS NULL"
        f" AND records.status = 'ok' AND (records.change_xid, records.change_seq) > ({after[0]}, {after[1]})"
        f" AND (records.change_xid, records.change_seq) <= ({upto[0]}, {upto[1]})"
        " AND (records.change_xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
        " OR records.change_xid = coalesce(pg_current_xact_id_if_assigned()::text::bigint, -1))"
    )


class Piped(msgspec.Struct, kw_only=True):
    rows: int = 0
    others: list[str] = []
    """Ids of the records left to the flattener."""
    with_entries: list[str] = []
    """Ids of piped records with an entry in a repeat."""


async def pipe(
    db: AsyncSession, target: Any, schema: str, form: Plan, where: str, on_rows: Callable[[int], None]
) -> Piped:
    """The plain records `where` picks copied into the target's tables as PostgreSQL writes them."""
    connection = await db.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    decode = msgspec.json.Decoder(form.answers).decode
    main, piped = form.tables[0], Piped()
    doubles, long = main.doubles, LONG.encode()
    repeats = form.repeats
    pending = bytearray()

    def sift(data: bytes) -> bytes:
        pending.extend(data)
        cut = pending.rfind(b"\n") + 1
        lines = bytes(pending[:cut]).split(b"\n")
        del pending[:cut]
        out = []
        for line in lines[:-1]:
            answers, _, row = line.partition(b"\t")
            try:
                record = decode(answers.replace(b"\\\\", b"\\"))
            except (msgspec.ValidationError, msgspec.DecodeError):
                piped.others.append(row[:36].decode())
                continue
            if doubles and long in row:
                piped.others.append(row[:36].decode())
                continue
            if repeats and any(getattr(record, name) for name in repeats):
                piped.with_entries.append(row[:36].decode())
            out.append(row)
        piped.rows += len(out)
        on_rows(len(out))
        return b"\n".join(out) + b"\n" if out else b""

    await _copy(driver, target, schema, main.table, f"{main.select}{where}", sift)
    for table in form.tables[1:]:
        if piped.with_entries:
            ids = ", ".join(f"'{i}'" for i in piped.with_entries)
            await _copy(driver, target, schema, table.table, f"{table.select}records.id IN ({ids})", None)
    return piped


async def _copy(
    driver: Any, target: Any, schema: str, table: CityTable, query: str, sift: Callable[[bytes], bytes] | None
) -> None:
    """`query`'s rows (through `sift`, when given) into the target's table, read while written."""
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=16)

    async def take(data: bytes) -> None:
        chunk = sift(data) if sift is not None else bytes(data)
        if chunk:
            await chunks.put(chunk)

    async def read() -> None:
        try:
            await driver.copy_from_query(query, output=take)
        finally:
            await chunks.put(None)

    async def source() -> AsyncIterator[bytes]:
        while (chunk := await chunks.get()) is not None:
            yield chunk

    async with asyncio.TaskGroup() as group:
        group.create_task(read())
        group.create_task(
            target.copy_to_table(
                table.name,
                schema_name=schema,
                columns=[c.name for c in table.columns],
                source=source(),
                format="text",
            )
        )
