import math
from typing import Any

import msgspec
import pytest

from sync.hashing import canonical_bytes, content_hash


def rules(value: Any) -> Any:
    """The documented canonical form, spelt out plainly: the fast walk must encode the same."""
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
            return int(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): rules(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rules(v) for v in value]
    return value


class Depth(float):
    pass


class Answers(dict):
    pass


class Key(str):
    def __str__(self) -> str:
        return "spelt"


TREES: list[Any] = [
    {"name": "ป้าศรี", "n": 3, "ok": True, "gone": None},
    {"width_m": 1.8, "count": 2.0, "zero": -0.0, "big": 2.0**53, "bigger": 1e300, "tiny": 5e-324},
    {"gps": {"lat": 14.97, "lon": 102.0, "alt": None}, "trees": [{"girth_cm": 95.0}, {"girth_cm": 95}]},
    {"bad": [math.nan, math.inf, -math.inf], "edge": [2.0**53 - 1, -(2.0**53) + 1, -(2.0**53)]},
    {1: "one", 2.5: "x", None: "n", False: "f", "s": (1.0, (2.0, "b"))},
    {Key("a"): 1, "d": Depth(2.0), "e": Depth(math.inf), "f": Answers({"x": 1.0, 3: [4.0]})},
    Answers({"x": [1, 2]}),
    [1.0, [2.0, {"k": -0.0}], "three"],
    (),
    7.0,
    "text",
]


@pytest.mark.parametrize("tree", TREES)
def test_canonical_bytes_follow_the_documented_rules(tree: Any) -> None:
    assert canonical_bytes(tree) == msgspec.json.encode(rules(tree), order="sorted")


def test_same_content_hashes_equally_however_it_was_spelt() -> None:
    spelt = {"a": 1, "b": -0.0, "c": [2, {"d": 3}], 4: "x", "nan": math.nan}
    respelt = {"nan": "nan", "4": "x", "c": [2.0, {"d": 3.0}], "b": 0, "a": 1.0}
    assert content_hash("f", "1", None, None, spelt) == content_hash("f", "1", None, None, respelt)
    for a, b in [(1.5, 1), (2.0**53, 2**53), ("1", 1)]:
        assert content_hash("f", "1", None, None, {"a": a}) != content_hash("f", "1", None, None, {"a": b})


JSON_TEXTS = [
    b'{"a": 1, "b": 2.5, "c": "x"}',
    b'{"count": 2.0, "zero": -0.0, "list": [1.0, 3.0], "last": 4.0}',
    b'{"big": 9007199254740992.0, "huge": 1e16, "tiny": 1e-7, "e": 2.0e3}',
    b'{"note": "version 1.0, then 2.0]", "n": {"m": 5.0}}',
    b'{"th": "\\u0e1b\\u0e49\\u0e32", "nested": [{"x": [0.0]}], "neg": -12.0}',
]


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_the_json_shortcut_hashes_as_the_general_rules(text: bytes) -> None:
    answers = msgspec.json.decode(text)
    general = content_hash("f", "1", "r", 2, answers)
    assert content_hash("f", "1", "r", 2, answers, from_json=True) == general
    assert general == content_hash("f", "1", "r", 2, rules(answers))
