"""Records flattened into the rows of the schema's tables, each value typed for its column.

A value that does not fit its column's (newest) type is kept as text in the same cell, never dropped
or blanked: a `"12a"` of a version where the field was text stays `"12a"` in an integer column. Every
row has exactly its table's columns, whatever the record holds (an option outside the list, a
two-number geopoint, a version no longer listed), so no row ever shifts out of line with its header.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import msgspec

from exports import cells
from exports.schema import Column, Schema
from forms.model import label_text
from forms.values import ATTACHMENTS

SUBMISSION = "_submission_uuid"
"""The leading value (never a column) naming the submission that made the record: its files' links."""


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """One record as the export reads it: the leading columns' values, its metadata and its answers."""

    leading: dict[str, Any]
    """Leading column path -> value (`_record_id`, `_status`, `_lat`, `_start`, ...)."""
    version: str
    answers: dict[str, Any]


class Options(msgspec.Struct, frozen=True, kw_only=True):
    """How values are shown: choice labels in a language, or names and values; sensitive fields or not."""

    labels: bool = False
    lang: str | None = None
    pii: bool = False
    files: str | None = None
    """Where the project's submissions' files are downloaded (`https://host/api/v1/projects/p/submissions`):
    a photo, audio, video or file answer is then the link to its file; None keeps the file's name."""


Row = tuple[int, list[Any]]
"""(index of the table in `schema.tables`, the row's values in column order)."""

CellOf = Callable[[dict[str, Any], dict[str, Any]], Any]
"""A column's cell from a row's leading values and its answers by canonical path."""


class Flattener:
    """Turns records into table rows; the per-table work is laid out once."""

    def __init__(self, schema: Schema, options: Options, *, lists: bool = False) -> None:
        self.schema = schema
        self.options = options
        self.lists = lists
        """A select_multiple (or rank) as a list of its values, for GeoJSON; else one space-separated text."""
        self.index = {table.path: i for i, table in enumerate(schema.tables)}
        self._default = schema.default_language
        # each table's cells as functions of (leading values, answers), worked out once per column
        self._plans = [[self._cell_of(c) for c in table.columns] for table in schema.tables]

    def rows(self, record: Record) -> Iterator[Row]:
        """The record's main row, then one row per repeat entry (nested ones after their parent)."""
        alias = self.schema.aliases.get(record.version, {})
        values, repeats = self.scope(record)
        leading = record.leading
        yield 0, [cell(leading, values) for cell in self._plans[0]]
        if not repeats:
            return
        rid = record.leading.get("_record_id")
        pending = deque(
            (canonical, entries, version_path, "") for canonical, entries, version_path in repeats
        )
        while pending:
            canonical, entries, version_path, parent_row = pending.popleft()
            table_index = self.index.get(canonical)
            if table_index is None:  # a repeat only an unlisted version had: nowhere to put it
                continue
            table = self.schema.tables[table_index]
            # the entry's path: its parent entry's, then the groups and the repeat in between
            step = canonical[len(table.parent) + 1 :] if table.parent else canonical
            for i, entry in enumerate(entries, start=1):
                if not isinstance(entry, dict):
                    continue
                row_path = f"{parent_row}/{step}[{i}]" if parent_row else f"{step}[{i}]"
                inner: dict[str, Any] = {}
                nested: list[tuple[str, list[Any], str]] = []
                self._collect(entry, version_path + "/", alias, inner, nested)
                own = {
                    SUBMISSION: leading.get(SUBMISSION),
                    "_parent_record_id": rid,
                    "_parent_path": parent_row or None,
                    "_index": i,
                    "_path": row_path,
                }
                yield table_index, [cell(own, inner) for cell in self._plans[table_index]]
                pending.extend((c, e, vp, row_path) for c, e, vp in nested)

    def scope(self, record: Record) -> tuple[dict[str, Any], list[tuple[str, list[Any], str]]]:
        """The record's answers outside repeats by canonical path, and its repeats put aside."""
        alias = self.schema.aliases.get(record.version, {})
        if not alias and not self.schema.containers:  # no group, repeat or rename: paths are names
            return dict(record.answers), []
        values: dict[str, Any] = {}
        repeats: list[tuple[str, list[Any], str]] = []
        self._collect(record.answers, "", alias, values, repeats)
        return values, repeats

    def _collect(
        self,
        answers: dict[str, Any],
        prefix: str,
        alias: dict[str, str],
        out: dict[str, Any],
        repeats: list[tuple[str, list[Any], str]],
    ) -> None:
        """Leaves of one scope by canonical path; repeats found in it are put aside for their tables."""
        pending = [(answers, prefix)]
        while pending:
            scope, here = pending.pop()
            for name, value in scope.items():
                path = here + name
                canonical = alias.get(path, path)
                container = self.schema.containers.get(canonical)
                if container == "group" and isinstance(value, dict):
                    pending.append((value, path + "/"))
                elif container == "repeat" and isinstance(value, list):
                    repeats.append((canonical, value, path))
                else:
                    out[canonical] = value

    def _cell_of(self, column: Column) -> CellOf:
        """The column's cell from a row's leading values and answers: `cell` of its answer, with the
        common cases (a value already of the column's type) answered without its general walk."""
        path, source, part, kind = column.path, column.source, column.part, column.type
        if not source:
            if column.sensitive and not self.options.pii:  # personal metadata (`_phonenumber`, ...)
                return lambda leading, values: None
            return lambda leading, values: leading.get(path)
        if column.sensitive and not self.options.pii:
            return lambda leading, values: None
        cell = self.cell

        def general(leading: dict[str, Any], values: dict[str, Any]) -> Any:
            return cell(column, values.get(source))

        def of_type(*types: type) -> CellOf:
            def typed(leading: dict[str, Any], values: dict[str, Any]) -> Any:
                value = values.get(source)
                return value if value is None or type(value) in types else cell(column, value)

            return typed

        labelled = self.options.labels and bool(column.options)
        if kind in ATTACHMENTS and self.options.files is not None and part is None:
            link = self.link

            def linked(leading: dict[str, Any], values: dict[str, Any]) -> Any:
                return link(leading.get(SUBMISSION), values.get(source))

            return linked
        if part is not None:
            if kind == "select_multiple":

                def option(leading: dict[str, Any], values: dict[str, Any]) -> Any:
                    value = values.get(source)
                    if type(value) is list:
                        if part in value:
                            return 1
                        try:
                            " ".join(value)  # all texts, so none of them is this option
                        except TypeError:
                            return cell(column, value)
                        return 0
                    return cell(column, value)

                return option
            return general
        if kind == "text":
            return of_type(str)
        if kind == "integer":
            return of_type(int)
        if kind in ("decimal", "range"):
            return of_type(float, int)
        if kind == "select_one" and not labelled:

            def one(leading: dict[str, Any], values: dict[str, Any]) -> Any:
                value = values.get(source)
                if type(value) is str:
                    return " ".join(value.split()) or value
                return cell(column, value)

            return one
        if kind == "select_multiple" and not labelled:
            lists = self.lists

            def many(leading: dict[str, Any], values: dict[str, Any]) -> Any:
                value = values.get(source)
                if type(value) is list and value:
                    try:
                        joined = " ".join(value)  # all texts: shown as they are
                    except TypeError:
                        return cell(column, value)
                    return list(value) if lists else joined
                return cell(column, value)

            return many
        return general

    def cell(self, column: Column, value: Any) -> Any:
        """The value as its column shows it in a table."""
        if value is None:
            return None
        kind = column.type
        if column.part is not None:
            if kind == "select_multiple":
                return int(column.part in cells.picked(value))
            return cells.geopoint_part(value, column.part)
        if kind in ("select_one", "select_multiple", "rank"):
            picked = cells.picked(value)
            if not picked:
                return cells.text(value)
            shown = [self.option(column, v) for v in picked]
            return shown if self.lists and kind != "select_one" else " ".join(shown)
        convert = cells.CONVERT.get(kind)
        if convert is not None:
            try:
                return convert(value)
            except (TypeError, ValueError):
                return cells.text(value)
        if kind in ("geotrace", "geoshape"):
            return cells.odk_points(value)
        return cells.text(value)

    def link(self, submission: Any, value: Any) -> Any:
        """The download link of the file an answer names; its name as text where there is no link."""
        if value is None or value == "":
            return None
        if type(value) is not str or type(submission) is not str or self.options.files is None:
            return cells.text(value)
        return f"{self.options.files}/{quote(submission, safe='')}/attachments/{quote(value, safe='')}"

    def option(self, column: Column, value: str) -> str:
        if not self.options.labels or not column.options:
            return value
        return label_text(column.options.get(value), self.options.lang, self._default) or value

    def header(self, column: Column) -> str:
        """The column's name, or with `labels` its label in the language (a part adds its own)."""
        if not self.options.labels or column.label is None:
            return column.path
        text = label_text(column.label, self.options.lang, self._default) or column.path
        if column.part is None or column.type == "select_multiple":
            return text
        parent = self.schema.fields.get(column.source)
        base = label_text(parent.label, self.options.lang, self._default) if parent else None
        return f"{base or column.source} ({column.part})"
