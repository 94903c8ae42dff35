"""One rule for a form's key and version, for JSON and XLSForm alike: what uploads can be published and synced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from forms.decoding import decode_definition
from forms.errors import InvalidDefinition
from forms.xlsform import load_xlsform
from tests.factories import audit_form


@pytest.mark.parametrize(
    ("version", "code"),
    [
        ("2026/11/20", "invalid_version"),
        (".", "invalid_version"),
        ("..", "invalid_version"),
        ("v\x01", "invalid_version"),
        ("v\t1", "invalid_version"),
        (" v1", "invalid_version"),
        ("v1 ", "invalid_version"),
        ("v" * 256, "too_long"),
        ("   ", "empty"),
    ],
)
def test_a_version_that_cannot_be_published_or_synced_is_refused(
    problems: Callable[..., list[tuple[list[Any], str]]], version: str, code: str
) -> None:
    assert problems(audit_form(version=version)) == [(["version"], code)]


def test_a_key_too_long_to_sync_is_refused(problems: Callable[..., list[tuple[list[Any], str]]]) -> None:
    assert problems(audit_form(key="k" * 256)) == [(["key"], "too_long")]


def test_the_longest_key_and_version_a_sync_item_can_name_are_accepted() -> None:
    key, version = "k" * 255, "2026-11-20 ฉบับที่ 2 (" + "v" * 230 + ")"
    defn = decode_definition(audit_form(key=key, version=version))
    assert (defn.key, defn.version) == (key, version)  # kept whole, not cut to fit


SETTINGS_HEAD = ["form_id", "version", "form_title"]


def test_xlsform_version_follows_the_same_rule(xlsx: Callable[..., bytes]) -> None:
    survey = [["type", "name", "label"], ["text", "shop_name", "Shop name"]]
    data = xlsx(survey, None, [SETTINGS_HEAD, ["audit", "2026/11/20", "Audit"]])
    with pytest.raises(InvalidDefinition) as refused:
        load_xlsform(data)
    assert [(p.loc, p.code) for p in refused.value.problems] == [
        (["settings", 2, "version"], "invalid_version")
    ]
