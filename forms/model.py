"""The form definition: msgspec Structs checked at the edge, plus decoding that reports every problem."""

import hashlib
from collections.abc import Iterator
from typing import Any

import msgspec

from forms.errors import Problem

Label = str | dict[str, str]
Media = dict[str, Label]
"""Media labels by kind (`image`, `audio`, `video`, `big-image`): a file name, or one per language."""

FIELD_TYPES = frozenset(
    (
        *("text", "integer", "decimal", "select_one", "select_multiple", "date", "datetime", "time"),
        *("geopoint", "geotrace", "geoshape", "note", "calculate", "photo", "group", "repeat"),
        *("audio", "video", "file", "osm"),  # attachments, like a photo: the answer is the file's name
        "rank",  # choice values in the order the person ranked them
        *("trigger", "acknowledge"),  # "OK" once acknowledged, else nothing
        "start-geopoint",  # where the tablet was when the form was opened: a geopoint, not the form's place
    )
)
CONTAINER_TYPES = frozenset({"group", "repeat"})
SELECT_TYPES = frozenset({"select_one", "select_multiple", "rank"})
SURVIVORSHIP_RULES = frozenset({"latest", "first", "most_complete", "best_accuracy", "max", "min", "union"})
METADATA_KINDS = (
    *("start", "end", "today", "deviceid", "username", "phonenumber", "email", "simserial"),
    *("subscriberid", "audit"),
)
"""What a tablet records about a submission by itself (XLSForm metadata types): never questions."""
_METADATA_COLUMN_NAMES = {"deviceid": "_device"}
METADATA_COLUMNS = tuple(_METADATA_COLUMN_NAMES.get(kind, f"_{kind}") for kind in METADATA_KINDS)
"""The export columns of METADATA_KINDS, in their order (`_start`, `_end`, `_today`, `_device`, …)."""
PERSONAL_METADATA = frozenset({"phonenumber", "email", "simserial", "subscriberid"})
"""Metadata that identify a person (the volunteer's phone and account): shown only to callers with `pii`."""
MAX_DEPTH = 32
"""Groups and repeats nest at most this deep: far beyond any real form, well within every walk's reach."""


class Choice(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    value: str
    label: Label | None = None
    media: Media | None = None
    columns: dict[str, str] | None = None
    """The choices row's other columns, by header: what a `choice_filter` reads (`state`, `county`)."""


class Field(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One question, group or repeat; `type` is checked by `checks` so every bad one is reported."""

    name: str
    type: str
    label: Label | None = None
    hint: Label | None = None
    guidance_hint: Label | None = None
    media: Media | None = None
    required: bool = False
    required_message: Label | None = None
    readonly: bool | str = False
    """True, or an expression that makes the answer read-only when it holds (left to the tablet)."""
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: Label | None = None
    calculation: str | None = None
    choices: str | None = None
    choice_filter: str | None = None
    """Which choices are offered, given earlier answers (`state = ${state}`); bare names are columns."""
    or_other: bool = False
    sensitive: bool = False
    renamed_from: str | None = None
    appearance: str | None = None
    default: str | int | float | bool | None = None
    parameters: dict[str, str] | None = None
    """The XLSForm `parameters` column (`start=1 end=5 step=1`, `max-pixels=1024`) as name -> value."""
    repeat_count: str | int | None = None
    """A repeat's number of entries: a number or an expression (`${household_size}`)."""
    fields: "list[Field] | None" = None


class DedupPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    location_field: str | None = None
    radius_m: float = 25.0
    time_window_h: float | None = None
    match_fields: list[str] = []
    auto_merge_score: float = 0.9
    review_score: float = 0.6
    survivorship: dict[str, str] = {}


class FormDefinition(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    key: str
    version: str
    title: Label
    default_language: str | None = None
    fields: list[Field]
    choices: dict[str, list[Choice]] = {}
    instance_name: str | None = None
    """The XLSForm setting that names each record (`concat(${shop_name}, ' ', ${today})`)."""
    style: str | None = None
    """The XLSForm setting for how tablets lay the form out (`pages`, `theme-grid`)."""
    dedup: DedupPolicy | None = None
    metadata: dict[str, str] = {}
    """Submission metadata: the instance element's name -> its kind (one of METADATA_KINDS)."""


def metadata_column(kind: str) -> str:
    """The export column of a metadata kind: `_start`, `_device` for deviceid, ..."""
    return _METADATA_COLUMN_NAMES.get(kind, f"_{kind}")


def iter_fields(defn: FormDefinition) -> Iterator[tuple[str, Field]]:
    """Every field depth-first in form order, containers before their children, with its path."""
    yield from _walk(defn.fields, "")


def _walk(fields: list[Field], prefix: str) -> Iterator[tuple[str, Field]]:
    for field in fields:
        path = prefix + field.name
        yield path, field
        if field.fields:
            yield from _walk(field.fields, path + "/")


def label_text(label: Label | None, lang: str | None, default_lang: str | None) -> str | None:
    """The label in `lang`, falling back to the default language, then to any translation."""
    if label is None or isinstance(label, str):
        return label
    for code in (lang, default_lang):
        if code is not None and label.get(code):
            return label[code]
    return next((text for text in label.values() if text), None)


def encode_definition(defn: FormDefinition) -> bytes:
    return msgspec.json.encode(defn)


def definition_hash(defn: FormDefinition) -> str:
    """Sorted keys and omitted defaults, so adding an optional attribute later keeps old hashes."""
    return hashlib.sha256(msgspec.json.encode(defn, order="sorted")).hexdigest()


def load_definition(stored: dict[str, Any]) -> FormDefinition:
    """A definition that was checked when it was stored: typed again, not re-checked."""
    return msgspec.convert(stored, FormDefinition)


def too_deep(fields: Any) -> list[Problem]:
    """A problem at the first group nested deeper than MAX_DEPTH in raw `fields`, found without recursion."""
    pending: list[tuple[Any, list[str | int], int]] = [(fields, ["fields"], 1)]
    while pending:
        items, loc, depth = pending.pop()
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and isinstance(item.get("fields"), list):
                if depth > MAX_DEPTH:
                    return [nested_too_deep([*loc, i, "fields"])]
                pending.append((item["fields"], [*loc, i, "fields"], depth + 1))
    return []


def nested_too_deep(loc: list[str | int]) -> Problem:
    return Problem(loc=loc, code="too_deep", message=f"groups and repeats nest at most {MAX_DEPTH} deep")
