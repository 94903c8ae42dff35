"""`begin loop over LIST` expanded as pyxform expands it: a group holding one group per choice of LIST.

pyxform's JSON keeps a loop as written (`type: loop`, its children, the list's choices as `columns`);
its builder makes the XForm from it. Each choice becomes a group named and labelled as the choice,
holding a copy of the loop's questions in which `%(name)s` and `%(label)s` are that choice's name and
label (per language where the label has languages); a choice named `none` is skipped. So a tablet's
answer for a loop is at `loop/choice/question`, and so are the definition's fields.
"""

from collections.abc import Mapping
from typing import Any

LOOP = "loop"
SKIPPED = "none"  # pyxform skips a choice so named (the "none" of a select all that apply)


class BadLoopText(Exception):
    """A question of a loop whose text cannot take the choice (a lone `%`, an unknown `%(x)s`)."""

    def __init__(self, path: str, column: str, message: str) -> None:
        self.path, self.column = path, column
        super().__init__(message)


def expand_loops(children: list[dict[str, Any]], prefix: str = "") -> list[dict[str, Any]]:
    """pyxform's JSON children with every loop (at any depth) made the groups pyxform makes of it."""
    out = []
    for child in children:
        name = str(child.get("name", ""))
        if child.get("type") == LOOP:
            child = {k: v for k, v in child.items() if k not in ("columns", "children")} | {
                "type": "group",
                "children": [
                    _column(column, child.get("children") or [], f"{prefix}{name}/")
                    for column in child.get("columns") or []
                    if column.get("name") != SKIPPED
                ],
            }
        elif child.get("children"):
            child = child | {"children": expand_loops(child["children"], f"{prefix}{name}/")}
        out.append(child)
    return out


def _column(column: dict[str, Any], questions: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    name = str(column.get("name", ""))
    copies = [_substituted(q, column, f"{prefix}{name}/") for q in questions]
    group = {"type": "group", "name": name, "label": column.get("label"), "children": copies}
    return group | {"children": expand_loops(copies, f"{prefix}{name}/")}


def _substituted(question: dict[str, Any], column: dict[str, Any], prefix: str) -> dict[str, Any]:
    """As pyxform's `_name_and_label_substitutions`: every text and every text of a mapping, not deeper."""
    label = column.get("label")
    by_lang = (
        {lang: {"name": column.get("name"), "label": text} for lang, text in label.items()}
        if isinstance(label, Mapping)
        else {}
    )
    out = dict(question)
    try:
        for key, value in question.items():
            if isinstance(value, str):
                out[key] = value % column
            elif isinstance(value, Mapping):
                out[key] = {
                    k: v % by_lang.get(k, column) if isinstance(v, str) else v for k, v in value.items()
                }
    except (ValueError, KeyError, TypeError) as exc:
        raise BadLoopText(
            prefix.rsplit("/", 2)[0] + "/" + str(question.get("name", "")),
            key,
            f"{key}: {value!r} cannot take the loop's choice ({exc}); in a loop, text may use "
            "%(name)s and %(label)s, and a % sign is written %%",
        ) from exc
    return out
