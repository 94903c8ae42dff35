"""Reading a definition a coordinator sent: decoded, walked for every type problem, then checked.

Its own module because checking needs the model and the model must not need the checks.
"""

import types
import typing
from typing import Any

import msgspec

from forms.checks import check
from forms.errors import InvalidDefinition, Problem
from forms.model import Field, FormDefinition, too_deep


def decode_definition(data: bytes | dict[str, Any]) -> FormDefinition:
    """Decode and check a JSON definition; raises InvalidDefinition naming every problem found."""
    return decode_checked(data)[0]


def decode_checked(data: bytes | dict[str, Any]) -> tuple[FormDefinition, list[str]]:
    """Decode and check a JSON definition: the definition and its warnings, or InvalidDefinition."""
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
