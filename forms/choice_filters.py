"""A select's `choice_filter` as the server evaluates it: which answers the tablet could have offered.

In a choice filter a bare name is a column of the choices row (`state = ${state}`: the row's
`state` column against the answer to `state`; `name` is the choice's value). The filter is
rewritten so those columns are ordinary references, then compiled once. Whatever the server
cannot evaluate (a function outside its subset, a column no choice has, an answer it refers to
that is missing) is skipped: a filter only ever reports an answer no offered choice has.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

from forms.expressions import ExpressionError, compile_expr, parse, references
from forms.functions import boolean
from forms.model import Choice

COLUMN = "_choice."  # a column `state` is read as ${_choice.state}
_KEYWORDS = frozenset({"and", "or", "div", "mod"})
_PIECE = re.compile(
    r"""(?P<keep>'[^']*'|"[^"]*"|\$\{[^}]*\}|\d+(?:\.\d*)?)"""
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P<call>\s*\()?"
)

Filter = Callable[[list[str], Mapping[str, Any]], list[str]]
"""(picked values, answers by name) -> the picked values no offered choice has."""


def _rewrite(text: str) -> str:
    def piece(m: re.Match[str]) -> str:
        name = m["name"]
        if name is None or m["call"] or name in _KEYWORDS:
            return m[0]
        return "${" + COLUMN + name + "}"

    return _PIECE.sub(piece, text)


def compile_filter(text: str | None, choices: list[Choice]) -> Filter | None:
    """The filter as a check on picked values, or None when the server cannot evaluate it."""
    if not text:
        return None
    try:
        expr = parse(_rewrite(text))
        rule = compile_expr(expr)
    except ExpressionError:
        return None
    names = references(expr)
    columns = {n.removeprefix(COLUMN) for n in names if n.startswith(COLUMN)}
    answers = frozenset(n for n in names if not n.startswith(COLUMN))
    have = {"name"}.union(*(c.columns or {} for c in choices))
    if columns - have:
        return None  # a column no choice has: a typo or a list the server did not read whole
    rows: dict[str, list[dict[str, str]]] = {}
    for choice in choices:
        row = {COLUMN + k: v for k, v in (choice.columns or {}).items()}
        rows.setdefault(choice.value, []).append(row | {COLUMN + "name": choice.value})

    def offered(row: dict[str, str], env: Mapping[str, Any]) -> bool:
        try:
            return boolean(rule(None, {**env, **row}))
        except Exception:
            return True  # an evaluation that fails never makes a problem

    def not_offered(picked: list[str], env: Mapping[str, Any]) -> list[str]:
        if any(env.get(name) in (None, "", []) for name in answers):
            return []  # it depends on an answer the server does not have
        return [v for v in picked if v in rows and not any(offered(r, env) for r in rows[v])]

    return not_offered
