"""A form's tables in a city database: names, PostgreSQL types and comments, from the export's schema.

The tables hold what the export holds, typed: one per form (`<project>__<form>`) and one per repeat.
Names are PostgreSQL identifiers of at most 63 bytes, cut with a short hash where longer and made unique
in their table; once given, a name stays (the caller keeps the names and passes them back), so a
renamed field keeps its column. A column's type is the join of its types over every version: a type
only ever widens (integer → double precision, anything else → text), never narrows, and no column is
dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from exports.schema import Column, Schema
from forms.model import FormDefinition, Label, iter_fields
from forms.values import ATTACHMENTS

MAX_IDENTIFIER = 63
FORMAT = 1
"""Bumped when the same schema would be published differently: every form is then sent again once."""

TEXT, BIGINT, DOUBLE, BOOLEAN = "text", "bigint", "double precision", "boolean"
DATE, TIMESTAMPTZ, TIMETZ, TEXT_ARRAY, UUID = (
    "date",
    "timestamp with time zone",
    "time with time zone",
    "text[]",
    "uuid",
)
LINESTRING, POLYGON = "geometry(LineString,4326)", "geometry(Polygon,4326)"
GEOMETRIES = {"geotrace": LINESTRING, "geoshape": POLYGON}
"""With PostGIS, a line or shape is a geometry column; without it, text as ODK writes it."""
TYPES = {
    "integer": BIGINT,
    "decimal": DOUBLE,
    "range": DOUBLE,
    "date": DATE,
    "datetime": TIMESTAMPTZ,
    "time": TIMETZ,
    "select_multiple": TEXT_ARRAY,
    "rank": TEXT_ARRAY,
}
"""A field's (or leading column's) type in the city database; any other is text."""
RENAMED_LEADING = {"_record_id": "record_id", "_lat": "lat", "_lon": "lon"}
WITHHELD_LEADING = frozenset({"_submitted_by"})
"""The city database may be open to the public: who sent a record is personal data there."""
KEY = "_key"
"""A repeat table's own key: its record's id and the entry's `_path`."""
GEOMETRY = "geom"

Names = dict[str, dict[str, Any]]
"""Table path -> {"name": table name, "columns": {column path: column name}}: kept by the caller."""


class CityColumn(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    type: str
    path: str
    """The export column it holds (`shop_name`, `location/lat`, `_parent_record_id`); or KEY."""
    comment: str | None = None


class CityTable(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    path: str
    """The repeat's path; "" for the form's main table."""
    parent: str | None
    """The main table's name, for a repeat table (its rows belong to a record there)."""
    columns: list[CityColumn]
    comment: str | None = None


class Layout(msgspec.Struct, frozen=True, kw_only=True):
    form: str
    schema: Schema
    """The export schema the rows are flattened with (`_submitted_by` marked sensitive)."""
    tables: list[CityTable]
    fingerprint: str
    """Changes whenever a row could be published differently: then the whole form is sent again."""

    @property
    def names(self) -> Names:
        return {t.path: {"name": t.name, "columns": {c.path: c.name for c in t.columns}} for t in self.tables}


def identifier(name: str) -> str:
    """`name` if it fits in 63 bytes; else cut there (at a character) and ended with a short hash."""
    raw = name.encode()
    if len(raw) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(raw).hexdigest()[:8]
    return f"{raw[: MAX_IDENTIFIER - 9].decode('utf-8', 'ignore')}_{digest}"


def unique(name: str, used: set[str], salt: str) -> str:
    """`name` as an identifier not in `used` (then added to it): a hash of `salt` tells two apart."""
    found = identifier(name)
    n = 0
    while found in used:
        digest = hashlib.sha1(f"{salt}#{n}".encode()).hexdigest()[:6]
        cut = name.encode()[: MAX_IDENTIFIER - 7].decode("utf-8", "ignore")
        found, n = f"{cut}_{digest}", n + 1
    used.add(found)
    return found


def widen(old: str, new: str) -> str:
    """The narrowest type both fit in: integer and decimal in double precision, anything else in text."""
    if old == new:
        return old
    if {old, new} == {BIGINT, DOUBLE}:
        return DOUBLE
    return TEXT


def comment(label: Label | None, extra: str | None = None) -> str | None:
    """A label in every language it has (Thai and English first), for COMMENT ON."""
    if isinstance(label, dict):
        order = sorted(label, key=lambda lang: ({"th": 0, "en": 1}.get(lang, 2), lang))
        text = " | ".join(f"{lang}: {label[lang]}" for lang in order if label[lang])
    else:
        text = label or ""
    parts = [p for p in (text, extra) if p]
    return " — ".join(parts) or None


def plan(
    project: str,
    schema: Schema,
    definitions: Sequence[FormDefinition],
    previous: Names | None = None,
    *,
    pii: bool = False,
    postgis: bool = False,
    files: str | None = None,
) -> Layout:
    """The tables of a form from its export schema and versions (oldest first); `previous` are the
    names given before, kept for every table and column that still exists or was renamed. `files`:
    where file answers link to (`Options.files`); a form with such answers is sent again when it moves."""
    previous = previous or {}
    schema = _withheld(schema)
    aliases = _aliases(schema)
    widest = _types(schema, definitions, postgis)
    main_name = _name_of("", previous, aliases, identifier(f"{project}__{schema.key}"))
    tables = []
    for table in schema.tables:
        default = f"{project}__{schema.key}__{table.path.replace('/', '__')}"
        name = main_name if not table.path else _name_of(table.path, previous, aliases, identifier(default))
        old = _previous(table.path, previous, aliases) or {}
        old_columns: dict[str, str] = old.get("columns", {})
        reserved = {GEOMETRY} if not table.path and postgis else set()
        columns = [] if not table.path else [CityColumn(name=KEY, type=TEXT, path=KEY)]
        used = {c.name for c in columns} | reserved | set(old_columns.values())
        for column in table.columns:
            found = _column_name(column, old_columns, aliases)
            if found is None:
                base = RENAMED_LEADING.get(column.path, column.path.replace("/", "__"))
                found = unique(base, used, column.path)
            kind = _type_of(column, widest)
            if column.path in ("_record_id", "_parent_record_id"):
                kind = UUID
            note = "personal data: null unless the project publishes it" if column.sensitive else None
            text = comment(column.label, note if column.sensitive and not pii else None)
            columns.append(CityColumn(name=found, type=kind, path=column.path, comment=text))
        label = table.label if not table.path else table.label or table.path
        tables.append(
            CityTable(
                name=name,
                path=table.path,
                parent=None if not table.path else main_name,
                columns=columns,
                comment=comment(label, f"survey form {schema.key!r} of project {project!r}"),
            )
        )
    linked = files is not None and any(c.type in ATTACHMENTS for c in schema.fields.values())
    shown = [FORMAT, schema, pii, postgis, *([files] if linked else [])]
    fingerprint = hashlib.sha256(msgspec.json.encode(shown)).hexdigest()
    return Layout(form=schema.key, schema=schema, tables=tables, fingerprint=fingerprint)


def _withheld(schema: Schema) -> Schema:
    main = schema.tables[0]
    columns = [
        msgspec.structs.replace(c, sensitive=True) if c.path in WITHHELD_LEADING else c for c in main.columns
    ]
    tables = [msgspec.structs.replace(main, columns=columns), *schema.tables[1:]]
    return msgspec.structs.replace(schema, tables=tables)


def _aliases(schema: Schema) -> dict[str, set[str]]:
    """Canonical path -> every path older versions gave it."""
    found: dict[str, set[str]] = {}
    for per_version in schema.aliases.values():
        for path, canonical in per_version.items():
            found.setdefault(canonical, set()).add(path)
    return found


def _previous(path: str, previous: Names, aliases: Mapping[str, set[str]]) -> dict[str, Any] | None:
    for candidate in (path, *sorted(aliases.get(path, ()))):
        if candidate in previous:
            return previous[candidate]
    return None


def _name_of(path: str, previous: Names, aliases: Mapping[str, set[str]], default: str) -> str:
    old = _previous(path, previous, aliases)
    return old["name"] if old else default


def _column_name(column: Column, old: Mapping[str, str], aliases: Mapping[str, set[str]]) -> str | None:
    if column.path in old:
        return old[column.path]
    if not column.source:
        return None
    rest = column.path[len(column.source) :]  # a geopoint's or option's part: "/lat"
    for alias in sorted(aliases.get(column.source, ())):
        if alias + rest in old:
            return old[alias + rest]
    return None


def _types(schema: Schema, definitions: Sequence[FormDefinition], postgis: bool) -> dict[str, str]:
    """Canonical field path -> the join of its types over every version."""
    found: dict[str, str] = {}
    for defn in definitions:
        alias = schema.aliases.get(defn.version, {})
        for path, field in iter_fields(defn):
            canonical = alias.get(path, path)
            kind = (GEOMETRIES if postgis else TYPES).get(field.type) or TYPES.get(field.type, TEXT)
            found[canonical] = widen(found[canonical], kind) if canonical in found else kind
    return found


def _type_of(column: Column, widest: Mapping[str, str]) -> str:
    if column.part is not None:
        return BOOLEAN if column.type == "select_multiple" else DOUBLE
    if not column.source:
        return TYPES.get(column.type, TEXT)
    return widest.get(column.source, TYPES.get(column.type, TEXT))
