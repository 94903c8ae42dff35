"""One column schema across every version of a form.

Fields are matched by full path across versions; a field that says `renamed_from` keeps one column
across the rename (the older versions' paths are aliases of the newest). Columns come in the newest
version's order, then fields only older versions had, each where the newest version that had it put
it. A column takes the newest type, label and sensitivity mark (sensitive if any version says so);
choice lists are merged by value, so removing an option later never shifts data, and each option
keeps the newest label it had. Repeats (nested too) become tables of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from forms.checks import resolve_rename
from forms.model import Field, FormDefinition, Label, iter_fields

CONTAINERS = frozenset({"group", "repeat"})
NOT_COLUMNS = frozenset({"note", "group", "repeat"})
GEOPOINT_PARTS = ("lat", "lon", "alt", "accuracy")
GEOMETRY_TYPES = frozenset({"geopoint", "geotrace", "geoshape", "start-geopoint"})


class Column(msgspec.Struct, frozen=True, kw_only=True):
    """One column of a table: a field, or a part of one (a geopoint's `lat`, a select_multiple option)."""

    path: str
    """Its name in every output: `_record_id`, `group/field`, `field/lat`, `field/option`."""
    type: str
    """The field's newest type, or the leading column's own (`text`, `integer`, `decimal`, `datetime`)."""
    source: str = ""
    """The field path whose answer fills it (a part's field); empty for leading columns."""
    part: str | None = None
    """A geopoint's `lat`/`lon`/`alt`/`accuracy`, or a select_multiple option's value."""
    label: Label | None = None
    versions: tuple[str, ...] = ()
    sensitive: bool = False
    options: dict[str, Label | None] | None = None
    """A select's choices merged over every version, by value, each with its newest label."""


class Table(msgspec.Struct, frozen=True, kw_only=True):
    """The form's main table (path "") or one repeat's (path of the repeat)."""

    path: str
    label: Label | None
    parent: str | None
    columns: list[Column]


class Schema(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    tables: list[Table]
    containers: dict[str, str]
    """Canonical path of every group and repeat -> its type, to walk answers into their tables."""
    aliases: dict[str, dict[str, str]]
    """Version -> path in that version -> canonical path (only where the two differ)."""
    fields: dict[str, Column]
    """Canonical field path -> its column (for a geopoint or select_multiple: the whole field)."""
    languages: list[str]
    default_language: str | None


def build(
    key: str,
    definitions: Sequence[FormDefinition],
    leading: Sequence[Column],
    repeat_leading: Sequence[Column],
) -> Schema:
    """The schema of `definitions` (oldest first); `leading` columns open the main table, and
    `repeat_leading` every repeat table."""
    newest_first = list(reversed(definitions))
    aliases: dict[str, dict[str, str]] = {}
    later: dict[str, str] = {}  # path in the next newer version -> canonical
    later_renames: dict[str, str] = {}  # old path a newer field renames -> that newer field's path
    order: list[str] = []
    merged: dict[str, _Merged] = {}
    for defn in newest_first:
        canonical_of: dict[str, str] = {}
        for path, field in iter_fields(defn):
            canonical = _canonical(path, later, later_renames, canonical_of)
            canonical_of[path] = canonical
            if canonical not in merged:
                order.append(canonical)
                merged[canonical] = _Merged(field)
            merged[canonical].add(defn, field)
        aliases[defn.version] = {p: c for p, c in canonical_of.items() if p != c}
        later = canonical_of
        later_renames = {
            resolve_rename(path, field.renamed_from): path
            for path, field in iter_fields(defn)
            if field.renamed_from
        }
    containers = {path: m.type for path, m in merged.items() if m.type in CONTAINERS}
    fields = {path: merged[path].column(path) for path in order if merged[path].type not in NOT_COLUMNS}
    newest = newest_first[0] if newest_first else None
    tables = [Table(path="", label=newest.title if newest else None, parent=None, columns=list(leading))]
    by_path = {"": tables[0]}
    for path in order:
        if containers.get(path) == "repeat":
            table = Table(
                path=path,
                label=merged[path].label,
                parent=_table_of(path, containers),
                columns=list(repeat_leading),
            )
            tables.append(table)
            by_path[path] = table
    for path, column in fields.items():
        by_path[_table_of(path, containers)].columns.extend(_split(column))
    languages = sorted({lang for m in merged.values() for lang in m.languages})
    return Schema(
        key=key,
        tables=tables,
        containers=containers,
        aliases=aliases,
        fields=fields,
        languages=languages,
        default_language=newest.default_language if newest else None,
    )


def _canonical(path: str, later: dict[str, str], renames: dict[str, str], mine: dict[str, str]) -> str:
    """A path of an older version as the newest version names it."""
    if path in renames:  # a newer version renamed this field
        return later[renames[path]]
    if path in later:  # the newer version has it under the same path
        return later[path]
    parent, _, name = path.rpartition("/")
    if parent and parent in mine:  # a renamed group carries its children along
        return f"{mine[parent]}/{name}"
    return path


def _table_of(path: str, containers: dict[str, str]) -> str:
    """The nearest repeat around `path` ("" for the main table)."""
    parent = path.rpartition("/")[0]
    while parent:
        if containers.get(parent) == "repeat":
            return parent
        parent = parent.rpartition("/")[0]
    return ""


def _split(column: Column) -> list[Column]:
    """A geopoint as its four numbers; a select_multiple as its answer plus one 1/0 column per option."""
    if column.type in ("geopoint", "start-geopoint"):
        return [
            msgspec.structs.replace(column, path=f"{column.path}/{part}", part=part)
            for part in GEOPOINT_PARTS
        ]
    if column.type == "select_multiple" and column.options:
        parts = [
            msgspec.structs.replace(column, path=f"{column.path}/{value}", part=value, label=label)
            for value, label in column.options.items()
        ]
        return [column, *parts]
    return [column]


class _Merged:
    """What the versions say about one canonical path, newest first."""

    def __init__(self, newest: Field) -> None:
        self.type = newest.type
        self.label: Label | None = None
        self.versions: list[str] = []
        self.sensitive = False
        self.options: dict[str, Label | None] = {}
        self.languages: set[str] = set()

    def add(self, defn: FormDefinition, field: Field) -> None:
        self.versions.append(defn.version)
        self.sensitive = self.sensitive or field.sensitive
        if self.label is None and field.label is not None:
            self.label = field.label
        if isinstance(field.label, dict):
            self.languages.update(field.label)
        for choice in defn.choices.get(field.choices or "", []):
            if self.options.get(choice.value) is None:  # newest label first; an older one fills a gap
                self.options[choice.value] = choice.label

    def column(self, path: str) -> Column:
        return Column(
            path=path,
            type=self.type,
            source=path,
            label=self.label,
            versions=tuple(reversed(self.versions)),
            sensitive=self.sensitive,
            options=self.options or None,
        )
