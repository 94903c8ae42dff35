"""The compiled shortcuts must agree with the general evaluator, value for value."""

import re
from typing import Any

import pytest

from forms.expressions import Unsupported, _numeric_test, compile_expr, parse
from forms.functions import BadPattern

VALUES: list[Any] = [
    None,
    "",
    0,
    -0.0,
    5,
    20,
    20.000001,
    -3,
    2.5,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
    "7",
    " 7 ",
    "๑๕",
    "1e3",
    "abc",
    "2026-11-20",
    [],
    ["3"],
    {"lat": 14.97, "lon": 102.08},
    10**400,  # number() overflows: both sides must raise alike
]


def outcome(rule: str, current: Any) -> Any:
    """The value of `rule` for `current`, or the exception it raised."""
    try:
        return compile_expr(parse(rule))(current, {})
    except Exception as exc:
        return type(exc)


def general(rule: str, current: Any) -> Any:
    """The same rule reading `${x}` instead of `.`: same value semantics, but no shortcut."""
    try:
        return compile_expr(parse(re.sub(r"\.(?!\d)", "${x}", rule)))(None, {"x": current})
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize(
    "rule",
    [
        ". >= 0",
        ". > 0",
        ". < 20",
        ". <= -1.5",
        "0 <= .",
        "-2 > .",
        ". >= 0 and . <= 20",
        ". < 0 or . > 20",
        "(. > 1 and . < 3) or . >= 10",
    ],
)
def test_numeric_constraints_agree_with_the_general_evaluator(rule: str) -> None:
    assert _numeric_test(parse(rule)) is not None  # the shortcut is taken
    for value in VALUES:
        assert outcome(rule, value) == general(rule, value), value


def test_other_comparisons_take_the_general_path() -> None:
    for rule in [". = 5", ". != 5", ". > 'a'", ". > ${y}", "not(. > 1)", ". + 1 > 2"]:
        assert _numeric_test(parse(rule)) is None
    assert compile_expr(parse(". = 1"))(True, {}) is True  # a boolean compares as a boolean


@pytest.mark.parametrize("pattern", ["^0[0-9]{8,9}$", "x", "^[ก-๙ ]+$"])
def test_regex_with_a_literal_pattern_agrees_with_a_computed_one(pattern: str) -> None:
    literal = compile_expr(parse(f"regex(., '{pattern}')"))
    computed = compile_expr(parse("regex(., ${p})"))
    for value in [*VALUES[:-1], "0812345678", "x" * 20_000, "ร้านป้าศรี"]:
        assert literal(value, {}) == computed(value, {"p": pattern}), value


def test_regex_runs_in_linear_time_so_a_catastrophic_pattern_answers() -> None:
    """`(a+)+$` backtracks for hours in Python's re on this answer; RE2 answers at once."""
    rule = compile_expr(parse("regex(., '(a+)+$')"))
    assert rule("a" * 5_000 + "!", {}) is False
    assert rule("a" * 5_000, {}) is True


@pytest.mark.parametrize("pattern", ["(", r"(\w)\1", "^(?=a)b"])
def test_a_pattern_the_server_cannot_run_is_left_to_the_tablet(pattern: str) -> None:
    with pytest.raises(Unsupported, match="regex pattern"):
        parse(f"regex(., '{pattern}')")
    computed = compile_expr(parse("regex(., ${p})"))  # known only at run time: the rule raises
    with pytest.raises(BadPattern):
        computed("x", {"p": pattern})
