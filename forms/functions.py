"""XPath-ish value semantics and the functions the server evaluates (the rest stay on the tablet)."""

import datetime as dt
import math
import operator
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import re2

_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")
_DATEISH = re.compile(r"\d{4}-\d{2}-\d{2}")
THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
NAN = float("nan")


def ascii_digits(text: str) -> str:
    """Thai digits as ASCII ones; translate() is slow, and ASCII text (the usual case) has none."""
    return text if text.isascii() else text.translate(THAI_DIGITS)


def number(value: Any) -> float:
    """XPath number(): NaN for anything that is not a number (including empty)."""
    if type(value) is float:  # the common cases first: exact types, so bool still goes below
        return value
    if type(value) is int:
        return float(value)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = ascii_digits(value)
        return float(text) if _NUMBER.fullmatch(text) else NAN
    return NAN


def string(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return "NaN" if math.isnan(value) else repr(value)
    if isinstance(value, list | tuple):
        return " ".join(string(v) for v in value)
    if isinstance(value, dict):  # a geopoint, as ODK writes it
        return " ".join(
            string(value.get(k)) for k in ("lat", "lon", "alt", "accuracy") if value.get(k) is not None
        )
    return str(value)


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    return bool(value)


def _is_numberish(value: Any) -> bool:
    return isinstance(value, int | float) or (isinstance(value, str) and bool(_NUMBER.fullmatch(value)))


def _equality(negate: bool) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, bool) or isinstance(b, bool):
            result = boolean(a) == boolean(b)
        elif (
            (isinstance(a, int | float) or isinstance(b, int | float))
            and _is_numberish(a)
            and _is_numberish(b)
        ):
            result = number(a) == number(b)
        elif isinstance(a, int | float) or isinstance(b, int | float):
            x, y = number(a), number(b)
            result = x == y
            if math.isnan(x) or math.isnan(y):
                return negate
        else:
            result = string(a) == string(b)
        return result != negate

    return compare


def _relational(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, str) and isinstance(b, str) and _DATEISH.match(a) and _DATEISH.match(b):
            return op(a, b)  # ISO dates and datetimes sort as text
        return op(number(a), number(b))

    return compare


def _arith(op: Callable[[float, float], float]) -> Callable[[Any, Any], float]:
    def apply(a: Any, b: Any) -> float:
        try:
            return op(number(a), number(b))
        except ZeroDivisionError:
            return NAN

    return apply


def _div(a: float, b: float) -> float:
    if b == 0:
        return NAN if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "=": _equality(False),
    "!=": _equality(True),
    "<": _relational(operator.lt),
    "<=": _relational(operator.le),
    ">": _relational(operator.gt),
    ">=": _relational(operator.ge),
    "+": _arith(operator.add),
    "-": _arith(operator.sub),
    "*": _arith(operator.mul),
    "div": _arith(_div),
    "mod": _arith(math.fmod),
}


def _selected_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [string(v) for v in value]
    return string(value).split()


class BadPattern(ValueError):
    """A pattern RE2 cannot run: bad syntax, or a backreference or lookaround (no linear-time match)."""


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is our answer to give, not a line on stderr


@lru_cache(maxsize=512)
def compile_pattern(text: str) -> re2._Regexp:
    """A form author's pattern, compiled by RE2: matching takes time linear in the answer's length,
    whatever the pattern (`(a+)+$` included), so no answer can stall the server."""
    try:
        return re2.compile(text, _RE2_OPTIONS)
    except re2.error as exc:
        reason = (
            exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        )
        raise BadPattern(f"regex pattern '{text}' ({reason})") from None


def _regex(value: Any, pattern: Any) -> bool:
    """A pattern only known at run time: one RE2 cannot run raises, so the rule counts as passing."""
    return compile_pattern(string(pattern)).search(string(value)) is not None


def regex_matcher(pattern: str) -> Callable[[Any], bool]:
    """`regex(value, 'literal')` with the pattern compiled once (the parser has refused bad ones)."""
    compiled = compile_pattern(pattern)

    def match(value: Any) -> bool:
        return compiled.search(string(value)) is not None

    return match


def _int(value: Any) -> float:
    x = number(value)
    return x if math.isnan(x) or math.isinf(x) else float(math.trunc(x))


def _round(value: Any, digits: Any = 0) -> float:
    x, d = number(value), number(digits)
    if math.isnan(x) or math.isinf(x) or math.isnan(d):
        return x
    factor = 10 ** int(d)
    return math.floor(x * factor + 0.5) / factor


def _coalesce(a: Any, b: Any) -> Any:
    return a if string(a) != "" else b


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "selected": lambda value, choice: string(choice) in _selected_list(value),
    "count-selected": lambda value: float(len(_selected_list(value))),
    "string-length": lambda value="": float(len(string(value))),
    "regex": _regex,
    "today": lambda: dt.date.today().isoformat(),
    "now": lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    "if": lambda c, a, b: a if boolean(c) else b,
    "concat": lambda *parts: "".join(string(p) for p in parts),
    "number": number,
    "int": _int,
    "round": _round,
    "coalesce": _coalesce,
    "not": lambda value: not boolean(value),
    "true": lambda: True,
    "false": lambda: False,
    "boolean": boolean,
    "string": string,
    "contains": lambda a, b: string(b) in string(a),
    "starts-with": lambda a, b: string(a).startswith(string(b)),
    "ends-with": lambda a, b: string(a).endswith(string(b)),
    "abs": lambda value: abs(number(value)),
}

ARITY: dict[str, tuple[int, int]] = {
    "selected": (2, 2),
    "count-selected": (1, 1),
    "string-length": (0, 1),
    "regex": (2, 2),
    "today": (0, 0),
    "now": (0, 0),
    "if": (3, 3),
    "concat": (1, 99),
    "number": (1, 1),
    "int": (1, 1),
    "round": (1, 2),
    "coalesce": (2, 2),
    "not": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "boolean": (1, 1),
    "string": (1, 1),
    "contains": (2, 2),
    "starts-with": (2, 2),
    "ends-with": (2, 2),
    "abs": (1, 1),
}
