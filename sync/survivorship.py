"""Survivorship: which value each field of a merged record takes from its observations.

`survive` is a pure function of its inputs, so undoing a merge is recomputing from the observations
that remain. Observations are ordered by (submitted_at, record_id, content), never by list order.
Rules apply per leaf path (groups are walked, repeats and geopoints are single values); a rule on a
group path applies to the leaves inside it. Defaults: `latest` for every field, `best_accuracy` for
the location field. Rules:

- `latest` / `first`: the last / first non-empty value;
- `most_complete`: the largest non-empty value (characters of text, items of a list, keys of an
  object; scalars count 1), ties to the latest;
- `best_accuracy`: the value with the smallest accuracy (the value's own `accuracy` when it is a
  geopoint object, else the observation's); unknown or 0 (mocked) accuracy ranks last, ties latest;
- `max` / `min`: over numbers (or over text when all values are text);
- `union`: every item of every list, in order of first appearance (ODK space-joined text is split).

When no observation has a non-empty value, the latest value present (possibly None) is kept.
"""

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from sync.errors import InvalidRule
from sync.hashing import canonical_bytes
from sync.merge import is_point
from sync.normalize import as_utc

RULES = frozenset({"latest", "first", "most_complete", "best_accuracy", "max", "min", "union"})


class Observation(msgspec.Struct, frozen=True, kw_only=True):
    """One submission folded into a record; `accuracy` is its location's GPS accuracy in metres."""

    record_id: str
    submitted_at: datetime
    answers: dict[str, Any]
    accuracy: float | None = None


Present = list[tuple[Observation, Any]]


def survive(
    observations: list[Observation], rules: Mapping[str, str], location_path: str | None = None
) -> dict[str, Any]:
    """The answers of the merged record."""
    bad = sorted(rule for rule in rules.values() if rule not in RULES)
    if bad:
        raise InvalidRule(f"unknown survivorship rule {bad[0]!r}; use one of {', '.join(sorted(RULES))}")
    ordered = sorted(
        observations, key=lambda o: (as_utc(o.submitted_at), o.record_id, canonical_bytes(o.answers))
    )
    leaves = [_leaves(o.answers, "") for o in ordered]
    result: dict[str, Any] = {}
    for path in dict.fromkeys(p for flat in leaves for p in flat):
        present = [(obs, flat[path]) for obs, flat in zip(ordered, leaves, strict=True) if path in flat]
        _put(result, path.split("/"), _PICK[_rule_for(path, rules, location_path)](present))
    return result


def _rule_for(path: str, rules: Mapping[str, str], location_path: str | None) -> str:
    prefix = path
    while prefix:
        if prefix in rules:
            return rules[prefix]
        prefix = prefix.rpartition("/")[0]
    return "best_accuracy" if path == location_path else "latest"


def _leaves(value: dict[str, Any], path: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, sub in value.items():
        sub_path = f"{path}/{key}" if path else key
        if isinstance(sub, dict) and sub and not is_point(sub):
            flat.update(_leaves(sub, sub_path))
        else:
            flat[sub_path] = sub
    return flat


def _put(target: dict[str, Any], segments: list[str], value: Any) -> None:
    for segment in segments[:-1]:
        if not isinstance(target.get(segment), dict):
            target[segment] = {}
        target = target[segment]
    if not isinstance(target.get(segments[-1]), dict):
        target[segments[-1]] = value


def _empty(value: Any) -> bool:
    return value is None or (
        isinstance(value, str | list | dict) and not (value.strip() if isinstance(value, str) else value)
    )


def _filled(present: Present) -> Present:
    return [(obs, value) for obs, value in present if not _empty(value)]


def _latest(present: Present) -> Any:
    filled = _filled(present)
    return (filled or present)[-1][1]


def _first(present: Present) -> Any:
    filled = _filled(present)
    return filled[0][1] if filled else present[-1][1]


def _most_complete(present: Present) -> Any:
    filled = _filled(present)
    if not filled:
        return present[-1][1]
    sizes = [(_size(value), i) for i, (_, value) in enumerate(filled)]
    return filled[max(sizes)[1]][1]


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.strip())
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        return sum(not _empty(v) for v in value.values())
    return 1


def _best_accuracy(present: Present) -> Any:
    filled = _filled(present)
    if not filled:
        return present[-1][1]
    ranked = [(_accuracy(obs, value), -i) for i, (obs, value) in enumerate(filled)]
    return filled[-min(ranked)[1]][1]


def _accuracy(obs: Observation, value: Any) -> float:
    own = value.get("accuracy") if isinstance(value, dict) else None
    accuracy = own if _number(own) else obs.accuracy
    return accuracy if _number(accuracy) and accuracy > 0 else math.inf


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _extreme(pick: Callable[..., Any]) -> Callable[[Present], Any]:
    def choose(present: Present) -> Any:
        values = [value for _, value in _filled(present)]
        numbers = [v for v in values if _number(v)]
        if numbers:
            return pick(numbers)
        if values and all(isinstance(v, str) for v in values):
            return pick(values)
        return _latest(present)

    return choose


def _union(present: Present) -> Any:
    filled = _filled(present)
    if not filled:
        return present[-1][1]
    seen: dict[bytes, Any] = {}
    for _, value in filled:
        items = value.split() if isinstance(value, str) else value if isinstance(value, list) else [value]
        for item in items:
            seen.setdefault(canonical_bytes(item), item)
    return list(seen.values())


_PICK: dict[str, Callable[[Present], Any]] = {
    "latest": _latest,
    "first": _first,
    "most_complete": _most_complete,
    "best_accuracy": _best_accuracy,
    "max": _extreme(max),
    "min": _extreme(min),
    "union": _union,
}
