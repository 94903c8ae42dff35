"""Groups nest at most MAX_DEPTH deep, in JSON and XLSForm alike: deeper is a 422, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from forms.decoding import decode_definition
from forms.errors import InvalidDefinition
from forms.model import MAX_DEPTH
from forms.xlsform import load_xlsform
from tests.factories import audit_form


def nested_fields(depth: int) -> list[dict[str, Any]]:
    field: dict[str, Any] = {"name": "leaf", "type": "text"}
    for level in range(depth):
        field = {"name": f"g{level}", "type": "group", "fields": [field]}
    return [field]


def test_groups_nest_at_most_max_depth(problems: Callable[..., list[tuple[list[Any], str]]]) -> None:
    decode_definition(audit_form(fields=nested_fields(MAX_DEPTH)))
    [(loc, code)] = problems(audit_form(fields=nested_fields(MAX_DEPTH + 1)))
    assert code == "too_deep" and len(loc) == 1 + 2 * (MAX_DEPTH + 1)  # the 33rd group's fields
    [(_, code)] = problems(audit_form(fields=nested_fields(5_000)))
    assert code == "too_deep"


SETTINGS = [["form_id", "version", "form_title"], ["audit", "v1", "Audit"]]


def test_xlsform_groups_nest_at_most_max_depth(xlsx: Callable[..., bytes]) -> None:
    def survey(depth: int) -> list[list[object]]:
        rows: list[list[object]] = [["type", "name", "label"]]
        rows += [["begin group", f"g{level}", "G"] for level in range(depth)]
        rows.append(["text", "leaf", "Leaf"])
        rows += [["end group", None, None] for _ in range(depth)]
        return rows

    load_xlsform(xlsx(survey(MAX_DEPTH), None, SETTINGS))
    for depth in (MAX_DEPTH + 1, 2_000):
        with pytest.raises(InvalidDefinition) as refused:
            load_xlsform(xlsx(survey(depth), None, SETTINGS))
        [problem] = refused.value.problems
        assert problem.code == "too_deep" and problem.loc == ["survey", MAX_DEPTH + 2, "type"]
