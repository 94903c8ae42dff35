"""What an export of one form is laid out as: leading columns, the schema, its sheets and dictionary."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from exports.rows import Flattener, Options
from exports.schema import Column, Schema, build
from exports.sheets import Kind, Sheet
from forms import model
from forms.model import FormDefinition, label_text
from forms.values import ATTACHMENTS

LEADING = (
    Column(path="_record_id", type="text"),
    Column(path="_revision", type="integer"),
    Column(path="_status", type="text"),
    Column(path="_version", type="text"),
    Column(path="_created_at", type="datetime"),
    Column(path="_updated_at", type="datetime"),
    Column(path="_submitted_by", type="text"),
    Column(path="_lat", type="decimal"),
    Column(path="_lon", type="decimal"),
    Column(path="_accuracy", type="decimal"),
)
REPEAT_LEADING = (
    Column(path="_parent_record_id", type="text"),
    Column(path="_parent_path", type="text"),
    Column(path="_index", type="integer"),
    Column(path="_path", type="text"),
)
METADATA_TYPES = {"start": "datetime", "end": "datetime", "today": "date"}
"""Metadata kinds that are not text."""

WITHHELD = "personal data: empty in this export (you may not see it)"

_KINDS: dict[str, Kind] = {
    "integer": "integer",
    "decimal": "decimal",
    "range": "decimal",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
}


def metadata_columns(definitions: Sequence[FormDefinition]) -> list[Column]:
    """`_start`, `_end`, `_device`, ... for the metadata any version records, in one fixed order."""
    kinds = {kind for defn in definitions for kind in defn.metadata.values()}
    return [
        Column(
            path=model.metadata_column(kind),
            type=METADATA_TYPES.get(kind, "text"),
            sensitive=kind in model.PERSONAL_METADATA,
        )
        for kind in model.METADATA_KINDS
        if kind in kinds
    ]


def schema_of(key: str, definitions: Sequence[FormDefinition]) -> Schema:
    """The export schema of a form from its versions, oldest first."""
    return build(key, definitions, [*LEADING, *metadata_columns(definitions)], REPEAT_LEADING)


def kind_of(column: Column) -> Kind:
    if column.part is not None:
        return "integer" if column.type == "select_multiple" else "decimal"
    if column.type in ATTACHMENTS:
        return "url"  # a link to the file where the export has one (`Options.files`), else its name
    return _KINDS.get(column.type, "text")


def sheets(flattener: Flattener) -> list[Sheet]:
    """One sheet per table, the form's first, headers named or labelled as the options ask."""
    schema = flattener.schema
    result = []
    for table in schema.tables:
        name = schema.key if not table.path else table.path.rpartition("/")[2]
        result.append(
            Sheet(
                name=name,
                headers=[flattener.header(c) for c in table.columns],
                kinds=[kind_of(c) for c in table.columns],
            )
        )
    return result


def dictionary_sheet(schema: Schema) -> Sheet:
    headers = ["column", "table", "label", *(f"label::{lang}" for lang in schema.languages)]
    headers += ["type", "versions", "sensitive", "note"]
    kinds: list[Kind] = ["text"] * len(headers)
    kinds[-2] = "boolean"
    return Sheet(name="_dictionary", headers=headers, kinds=kinds)


def dictionary_rows(schema: Schema, options: Options) -> Iterator[list[Any]]:
    """One row per column of every table: what it is, in which versions, and whether it is withheld."""
    for table in schema.tables:
        for column in table.columns:
            label = column.label
            row: list[Any] = [
                column.path,
                table.path or schema.key,
                label_text(label, options.lang, schema.default_language),
            ]
            row += [label.get(lang) if isinstance(label, dict) else None for lang in schema.languages]
            withheld = column.sensitive and not options.pii
            row += [
                column.type,
                " ".join(column.versions) or None,
                column.sensitive,
                WITHHELD if withheld else None,
            ]
            yield row
