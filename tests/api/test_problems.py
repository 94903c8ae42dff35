"""Each error base declares its located problems, so its problem document is one table lookup away.

No database: documents are built from the errors themselves, as the handlers and the helpers do.
"""

from __future__ import annotations

from typing import Any

import msgspec

from forms.errors import InvalidDefinition, Problem, UnreadableFile
from forms.expressions import ExpressionError
from survey_api import errors
from survey_api.web.problems import document_of
from sync.errors import MalformedBatch, TooManyItems


def body(exc: Exception) -> dict[str, Any]:
    found = document_of(exc)
    assert found is not None
    return msgspec.json.decode(msgspec.json.encode(found))


def test_a_forms_error_lists_every_problem_of_the_definition():
    problems = [
        Problem(loc=["survey", 3, "type"], code="unknown_type", message="no type 'colour'"),
        Problem(loc=["settings", 2, "version"], code="missing", message="version is required"),
    ]
    assert body(InvalidDefinition(problems)) == {
        "type": "https://survey-api.dev/problems/422",
        "title": "Invalid form",
        "status": 422,
        "detail": "no type 'colour' (and 1 more)",
        "errors": [
            {"loc": ["survey", 3, "type"], "code": "unknown_type", "message": "no type 'colour'"},
            {"loc": ["settings", 2, "version"], "code": "missing", "message": "version is required"},
        ],
    }
    unreadable = body(UnreadableFile("not a workbook", "zip_bomb"))
    assert unreadable["errors"] == [{"loc": [], "code": "zip_bomb", "message": "not a workbook"}]
    assert body(ExpressionError("empty expression"))["errors"] == []  # the message is all there is


def test_a_sync_error_is_one_problem_made_of_its_place_code_and_message():
    assert body(TooManyItems(1001, 1000)) == {
        "type": "https://survey-api.dev/problems/413",
        "title": "Too many items",
        "status": 413,
        "detail": "1001 submissions in one batch; at most 1000 are allowed",
        "errors": [
            {
                "loc": ["submissions"],
                "code": "too_many_items",
                "message": "1001 submissions in one batch; at most 1000 are allowed",
            }
        ],
    }
    assert body(MalformedBatch("not a batch"))["errors"] == [
        {"loc": [], "code": "malformed_batch", "message": "not a batch"}
    ]


def test_a_shell_error_carries_the_problems_it_was_raised_with():
    where = Problem(loc=["body", "timezone"], code="unknown_timezone", message="not an IANA time zone")
    bad = errors.Invalid("Unknown time zone 'Mars/Olympus'.", [where])
    assert body(bad) == {
        "type": "https://survey-api.dev/problems/422",
        "title": "Invalid",
        "status": 422,
        "detail": "Unknown time zone 'Mars/Olympus'.",
        "errors": [
            {"loc": ["body", "timezone"], "code": "unknown_timezone", "message": "not an IANA time zone"}
        ],
    }
    assert body(errors.NotFound("No project 'x'."))["errors"] == []


def test_anything_else_has_no_document_of_its_own():
    assert document_of(ValueError("a bug")) is None
    assert document_of(errors.ApiError("no class of the table")) is None
