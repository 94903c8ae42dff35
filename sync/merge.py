"""Three-way merge of answers per field path, and the path helpers it rests on.

A path is `/`-joined: `shop_name`, a group's leaf `address/street`, a repeat item's leaf
`trees/0/species`. Groups (objects) merge leaf by leaf. A repeat (list of objects) merges item by
item only when base, head and edit all hold the same number of items; otherwise nobody can tell which
item is which, and the whole repeat is one value at its path. Geopoint-shaped objects
(`{"lat", "lon", "alt"?, "accuracy"?}`) and any path in `atomic` are single values: taking `lat` from
one side and `lon` from the other would invent a place. A missing key equals None, so removing a value
is a change to None. An edit equal to what head already holds is never a conflict.
"""

from collections.abc import Collection
from typing import Any

import msgspec

from sync.errors import BadPath, InvalidChoice


class Merged(msgspec.Struct, frozen=True, kw_only=True):
    answers: dict[str, Any]


class FieldConflict(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    base: Any
    current: Any
    incoming: Any


class Conflicted(msgspec.Struct, frozen=True, kw_only=True):
    """Head with every non-conflicting change of the edit applied; conflicting fields keep head's value."""

    answers: dict[str, Any]
    fields: list[FieldConflict]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_POINT_KEYS = frozenset({"lat", "lon", "alt", "accuracy"})


def three_way(
    base: dict[str, Any], head: dict[str, Any], edit: dict[str, Any], atomic: Collection[str] = ()
) -> Merged | Conflicted:
    """Apply the changes `edit` made to `base` onto `head`, field path by field path."""
    conflicts: list[FieldConflict] = []
    answers = _merge("", base, head, edit, conflicts, frozenset(atomic))
    if conflicts:
        return Conflicted(answers=answers, fields=conflicts)
    return Merged(answers=answers)


def changed_paths(old: dict[str, Any], new: dict[str, Any], atomic: Collection[str] = ()) -> list[str]:
    """Leaf paths whose value differs, by the same path rules as the merge (for record history)."""
    found: list[str] = []
    _diff("", old, new, found, frozenset(atomic))
    return found


def apply_choices(
    head: dict[str, Any], conflicts: list[FieldConflict], choose: dict[str, Any]
) -> dict[str, Any]:
    """Resolve a conflict: every conflicting path must be decided, `current`, `incoming` or `{"value": v}`."""
    known = {c.path: c for c in conflicts}
    unknown = sorted(set(choose) - set(known))
    if unknown:
        raise InvalidChoice(f"no conflict on {', '.join(unknown)}", ["choose", unknown[0]])
    undecided = [path for path in known if path not in choose]
    if undecided:
        raise InvalidChoice(f"undecided: {', '.join(undecided)}", ["choose", undecided[0]])
    result = head
    for path, conflict in known.items():
        choice = choose[path]
        if choice == "current":
            continue
        if choice == "incoming":
            result = set_path(result, path, conflict.incoming)
        elif isinstance(choice, dict) and set(choice) == {"value"}:
            result = set_path(result, path, choice["value"])
        else:
            raise InvalidChoice('a choice is "current", "incoming" or {"value": ...}', ["choose", path])
    return result


def get_path(answers: Any, path: str, default: Any = None) -> Any:
    """The value at a path, or `default` when any step is missing."""
    node = answers
    for segment in path.split("/"):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return default
    return node


def set_path(answers: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy with the value at `path` replaced; containers on the path are copied, never mutated."""
    return _set(answers, path.split("/"), value, path)


def _set(node: Any, segments: list[str], value: Any, path: str) -> Any:
    head, rest = segments[0], segments[1:]
    if isinstance(node, dict):
        copy = dict(node)
        copy[head] = _set(node.get(head, {}), rest, value, path) if rest else value
        return copy
    if isinstance(node, list) and head.isdigit() and int(head) < len(node):
        items = list(node)
        index = int(head)
        items[index] = _set(items[index], rest, value, path) if rest else value
        return items
    raise BadPath(f"path {path!r} does not lead to a field", [path])


def _join(path: str, key: str | int) -> str:
    return f"{path}/{key}" if path else str(key)


def is_point(value: Any) -> bool:
    """A geopoint-shaped object, which is one value rather than a group."""
    return isinstance(value, dict) and "lat" in value and "lon" in value and value.keys() <= _POINT_KEYS


def _is_group(value: Any) -> bool:
    return isinstance(value, dict) and not is_point(value)


def _is_repeat(*values: Any) -> bool:
    lists = [v for v in values if isinstance(v, list)]
    if len(lists) != len(values) or len({len(v) for v in lists}) != 1:
        return False
    return all(isinstance(item, dict) for v in lists for item in v)


def _eq(a: Any, b: Any) -> bool:
    a = None if a is MISSING else a
    b = None if b is MISSING else b
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _merge(path: str, b: Any, h: Any, e: Any, out: list[FieldConflict], atomic: frozenset[str]) -> Any:
    if path not in atomic:
        if _is_group(h) and _is_group(e) and (b is MISSING or b is None or _is_group(b)):
            base = b if isinstance(b, dict) else {}
            merged: dict[str, Any] = {}
            for key in dict.fromkeys([*h, *e, *base]):
                value = _merge(
                    _join(path, key),
                    base.get(key, MISSING),
                    h.get(key, MISSING),
                    e.get(key, MISSING),
                    out,
                    atomic,
                )
                if value is not MISSING:
                    merged[key] = value
            return merged
        if _is_repeat(b, h, e):
            return [_merge(_join(path, i), b[i], h[i], e[i], out, atomic) for i in range(len(h))]
    if _eq(h, e) or _eq(b, e):
        return h
    if _eq(b, h):
        return e
    out.append(FieldConflict(path=path, base=_plain(b), current=_plain(h), incoming=_plain(e)))
    return h


def _diff(path: str, old: Any, new: Any, found: list[str], atomic: frozenset[str]) -> None:
    if path not in atomic:
        if _is_group(old) and _is_group(new):
            for key in dict.fromkeys([*old, *new]):
                _diff(_join(path, key), old.get(key, MISSING), new.get(key, MISSING), found, atomic)
            return
        if _is_repeat(old, new):
            for i in range(len(old)):
                _diff(_join(path, i), old[i], new[i], found, atomic)
            return
    if not _eq(old, new):
        found.append(path)


def _plain(value: Any) -> Any:
    return None if value is MISSING else value
