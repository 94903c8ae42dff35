"""The form definition: msgspec Structs checked at the edge, plus decoding that reports every problem."""

import hashlib
import types
import typing
from collections.abc import Iterator
from typing import Any

import msgspec

from forms.errors import InvalidDefinition, Problem

Label = str | dict[str, str]

FIELD_TYPES = frozenset(
    (
        *("text", "integer", "decimal", "select_one", "select_multiple", "date", "datetime", "time"),
        *("geopoint", "geotrace", "geoshape", "note", "calculate", "photo", "group", "repeat"),
    )
)
CONTAINER_TYPES = frozenset({"group", "repeat"})
SELECT_TYPES = frozenset({"select_one", "select_multiple"})
SURVIVORSHIP_RULES = frozenset({"latest", "first", "most_complete", "best_accuracy", "max", "min", "union"})
MAX_DEPTH = 32
"""Groups and repeats nest at most this deep: far beyond any real form, well within every walk's reach."""


class Choice(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    value: str
    label: Label | None = None


class Field(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One question, group or repeat; `type` is checked by `checks` so every bad one is reported."""

    name: str
    type: str
    label: Label | None = None
    hint: Label | None = None
    required: bool = False
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: Label | None = None
    calculation: str | None = None
    choices: str | None = None
    or_other: bool = False
    sensitive: bool = False
    renamed_from: str | None = None
    appearance: str | None = None
    default: str | int | float | bool | None = None
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
    dedup: DedupPolicy | None = None


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


def decode_definition(data: bytes | dict[str, Any]) -> FormDefinition:
    """Decode and check a JSON definition; raises InvalidDefinition naming every problem found."""
    return decode_checked(data)[0]


def load_definition(stored: dict[str, Any]) -> FormDefinition:
    """A definition that was checked when it was stored: typed again, not re-checked."""
    return msgspec.convert(stored, FormDefinition)


def decode_checked(data: bytes | dict[str, Any]) -> tuple[FormDefinition, list[str]]:
    """Decode and check a JSON definition: the definition and its warnings, or InvalidDefinition."""
    from forms.checks import check

    if isinstance(data, bytes | bytearray | memoryview | str):
        try:
            data = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise InvalidDefinition([Problem(loc=[], code="invalid_json", message=str(exc))]) from exc
    problems = too_deep(data.get("fields")) if isinstance(data, dict) else []
    problems = problems or _prewalk(data, FormDefinition, [])
    if problems:
        raise InvalidDefinition(problems)
    try:
        defn = msgspec.convert(data, FormDefinition)
    except msgspec.ValidationError as exc:  # the pre-walk should have caught it; report it anyway
        raise InvalidDefinition([Problem(loc=[], code="wrong_type", message=str(exc))]) from exc
    problems, warnings = check(defn)
    if problems:
        raise InvalidDefinition(problems, warnings)
    return defn, warnings


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


def _prewalk(value: Any, tp: Any, loc: list[str | int]) -> list[Problem]:
    """Walk raw data against the Struct types so every unknown key and wrong type is reported."""
    if isinstance(tp, str):
        tp = Field
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        if not isinstance(value, dict):
            return [Problem(loc=loc, code="wrong_type", message=f"expected an object, got {_kind(value)}")]
        problems: list[Problem] = []
        infos = {f.encode_name: f for f in msgspec.structs.fields(tp)}
        for key in value:
            if key not in infos:
                problems.append(
                    Problem(loc=[*loc, key], code="unknown_field", message=f"unknown field {key!r}")
                )
        for name, info in infos.items():
            if name in value:
                problems += _prewalk(value[name], info.type, [*loc, name])
            elif info.required:
                problems.append(
                    Problem(loc=[*loc, name], code="missing_field", message=f"{name!r} is required")
                )
        return problems
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return []
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and (_is_struct(rest[0]) or typing.get_origin(rest[0]) in (list, dict)):
            return _prewalk(value, rest[0], loc)
    if origin is list and args and _is_struct(args[0]):
        if not isinstance(value, list):
            return [Problem(loc=loc, code="wrong_type", message=f"expected an array, got {_kind(value)}")]
        return [p for i, item in enumerate(value) for p in _prewalk(item, args[0], [*loc, i])]
    if origin is dict and args and typing.get_origin(args[1]) is list:
        if not isinstance(value, dict):
            return [Problem(loc=loc, code="wrong_type", message=f"expected an object, got {_kind(value)}")]
        return [p for k, v in value.items() for p in _prewalk(v, args[1], [*loc, str(k)])]
    try:
        msgspec.convert(value, tp)
    except msgspec.ValidationError as exc:
        return [Problem(loc=loc, code="wrong_type", message=str(exc).split(" - at ")[0])]
    return []


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, str) or (isinstance(tp, type) and issubclass(tp, msgspec.Struct))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
