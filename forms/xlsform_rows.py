"""Row-level checks on an XLSForm's raw sheets, so problems are found even where pyxform stops early.

pyxform raises at its first error; these checks read the sheets as `get_xlsform` returns them (one
dict per spreadsheet row, header is row 1, blank rows kept) and report every problem they can find
as [sheet, row, column], with the same codes, columns and messages as `forms.checks` so the two can
be merged without saying anything twice.
"""

import re
from typing import Any

from pyxform.parsing.sheet_headers import clean_text_values

from forms.checks import NAME, check_expression
from forms.errors import Problem
from forms.model import MAX_DEPTH, nested_too_deep

Loc = list[str | int]

SHEET_ORDER = {"survey": 0, "choices": 1, "settings": 2}
# raw header -> the column name our problems use (the same as forms.checks' attribute names)
EXPRESSION_HEADERS = {
    "relevant": "relevant",
    "relevance": "relevant",
    "bind::relevant": "relevant",
    "constraint": "constraint",
    "bind::constraint": "constraint",
    "calculation": "calculation",
    "calculate": "calculation",
    "bind::calculate": "calculation",
}
_SELECT = re.compile(
    r"^(?:select_one|select_multiple|select one|select all that apply|select1|rank)\s+(\S+)"
    r"(\s+or[_ ]other)?$",
    re.IGNORECASE,
)
_NOT_A_LIST = {"from", "external"}
_FILE_LIST = (".csv", ".xml", ".geojson")
# What a pyxform message says, as one of our codes (to drop it when we already said it).
_PYXFORM_CODES = (
    ("List name not in choices sheet", "unknown_choices"),
    ("There should be a choices sheet", "unknown_choices"),
    ("must be unique within their nearest parent", "duplicate_name"),
    ("Unmatched '", "unbalanced_group"),
    ("Names must begin with a letter", "invalid_name"),
    ("with no name", "invalid_name"),
    ("Choice names must be unique", "duplicate_choice"),
    ("Reference variables must contain a name", "unknown_reference"),
)


def generated_note_name(row: int) -> str:
    """The name pyxform gives a note row without one (a note is often only a heading)."""
    return f"generated_note_name_{row}"


def _text(row: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = row.get(key)
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


def _kind(type_text: str) -> str:
    return " ".join(type_text.replace("_", " ").split()).lower()


def _yes(value: str) -> bool:
    return value.strip().lower() in ("yes", "true", "1", "true()")


def check_rows(
    survey: list[dict[str, Any]],
    choices: list[dict[str, Any]] | None,
    settings: list[dict[str, Any]] | None,
) -> tuple[list[Problem], list[str]]:
    """Every row-level problem in the raw sheets, and warnings for rules the server leaves to the tablet."""
    problems: list[Problem] = []
    warnings: list[str] = []
    first_settings = (settings or [{}])[0] or {}
    allow_duplicates = _yes(_text(first_settings, "allow_choice_duplicates"))
    list_names = _check_choices(choices or [], allow_duplicates, problems)
    _check_survey(survey, list_names, problems, warnings)
    return problems, warnings


def _check_choices(
    choices: list[dict[str, Any]], allow_duplicates: bool, problems: list[Problem]
) -> set[str]:
    seen: dict[str, set[str]] = {}
    for i, row in enumerate(choices):
        list_name = _text(row, "list_name", "list name")
        if not list_name:
            continue
        values = seen.setdefault(list_name, set())
        value = _text(row, "name", "value")
        if value and value in values and not allow_duplicates:
            problems.append(
                Problem(
                    loc=["choices", i + 2, "name"],
                    code="duplicate_choice",
                    message=f"choice value {value!r} appears twice in list {list_name!r}",
                )
            )
        values.add(value)
    return set(seen)


class _Scope:
    __slots__ = ("children", "kind", "name", "path", "row", "seen")

    def __init__(self, kind: str, name: str, row: int, path: str) -> None:
        self.kind, self.name, self.row, self.path = kind, name, row, path
        self.seen: set[str] = set()
        self.children = 0


def _check_survey(
    survey: list[dict[str, Any]], list_names: set[str], problems: list[Problem], warnings: list[str]
) -> None:
    names: set[str] = set()
    for row in survey:
        name = _text(row, "name")
        if name:
            names.add(name)
            if _kind(_text(row, "type", "command")).endswith(" or other"):
                names.add(name + "_other")
    root = _Scope("survey", "", 1, "")
    stack = [root]
    for i, row in enumerate(survey):
        line = i + 2
        type_text = _text(row, "type", "command")
        if not type_text:
            continue
        kind = _kind(type_text)
        scope = stack[-1]
        if kind in ("end group", "end repeat", "end loop"):
            _end(kind, line, stack, problems)
            continue
        name = _text(row, "name") or (generated_note_name(line) if type_text == "note" else "")
        path = scope.path + name
        scope.children += 1
        if not NAME.fullmatch(name):
            message = (
                f"{name!r}: names start with a letter or _, then letters, digits, _ - ."
                if name
                else f"a {type_text!r} row needs a name"
            )
            problems.append(Problem(loc=["survey", line, "name"], code="invalid_name", message=message))
        elif name in scope.seen:
            problems.append(
                Problem(
                    loc=["survey", line, "name"], code="duplicate_name", message=f"{path!r} is defined twice"
                )
            )
        scope.seen.add(name)
        select = _SELECT.match(type_text)
        if select:
            list_name = select[1]
            if (
                list_name.lower() not in _NOT_A_LIST
                and not list_name.lower().endswith(_FILE_LIST)
                and list_name not in list_names
            ):
                problems.append(
                    Problem(
                        loc=["survey", line, "type"],
                        code="unknown_choices",
                        message=f"{path}: choice list {list_name!r} is not defined",
                    )
                )
        for header, value in row.items():
            attr = EXPRESSION_HEADERS.get(str(header).strip())
            if attr and value is not None and str(value).strip():
                # pyxform turns Excel's curly quotes into straight ones in every cell; so do we
                check_expression(
                    clean_text_values(str(value)),
                    ["survey", line, attr],
                    f"{path} {attr}",
                    names,
                    problems,
                    warnings,
                )
        if kind.startswith(("begin group", "begin repeat", "begin loop")):
            if len(stack) > MAX_DEPTH:
                problems.append(nested_too_deep(["survey", line, "type"]))
                return  # pyxform and every later walk recurse per level: stop before they do
            stack.append(_Scope(kind.split()[1], name, line, path + "/"))
    for scope in stack[:0:-1]:
        problems.append(
            Problem(
                loc=["survey", scope.row, "type"],
                code="unbalanced_group",
                message=f"begin {scope.kind} {scope.name!r} has no matching end {scope.kind}",
            )
        )


def _end(kind: str, line: int, stack: list[_Scope], problems: list[Problem]) -> None:
    wanted = kind.split()[1]
    if len(stack) == 1:
        problems.append(
            Problem(
                loc=["survey", line, "type"],
                code="unbalanced_group",
                message=f"end {wanted} has no matching begin {wanted}",
            )
        )
        return
    scope = stack.pop()
    if scope.kind != wanted:
        problems.append(
            Problem(
                loc=["survey", line, "type"],
                code="unbalanced_group",
                message=f"end {wanted} closes begin {scope.kind} {scope.name!r} (row {scope.row})",
            )
        )
    elif not scope.children:
        problems.append(
            Problem(
                loc=["survey", scope.row, "fields"],
                code="empty_group",
                message=f"{scope.path.rstrip('/')}: a {scope.kind} needs fields",
            )
        )


def pyxform_code(message: str) -> str | None:
    """Which of our codes a pyxform error message amounts to, if any."""
    return next((code for needle, code in _PYXFORM_CODES if needle in message), None)


def _row(problem: Problem) -> int:
    return int(problem.loc[1]) if len(problem.loc) > 1 and isinstance(problem.loc[1], int) else 0


def merge(ours: list[Problem], theirs: list[Problem]) -> list[Problem]:
    """Ours plus theirs, without a problem of theirs that one of ours already states at the same place.

    A problem of theirs is the same as ours when it has our code (pyxform's message is mapped to one)
    and the same sheet and row, or has no row and one of ours has that code. The result is sorted by sheet (survey, choices, settings) then row.
    """
    said = {(p.loc[0] if p.loc else "", _row(p), p.code) for p in ours}
    codes = {p.code for p in ours}
    kept = list(ours)
    for problem in theirs:
        sheet = problem.loc[0] if problem.loc else ""
        code = problem.code if problem.code != "xlsform" else pyxform_code(problem.message)
        if (sheet, _row(problem), code) in said or (_row(problem) == 0 and code in codes):
            continue
        kept.append(problem)
    return sort_problems(kept)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    return sorted(
        problems,
        key=lambda p: (
            SHEET_ORDER.get(str(p.loc[0]), 3) if p.loc else 4,
            str(p.loc[0]) if p.loc else "",
            _row(p),
        ),
    )
