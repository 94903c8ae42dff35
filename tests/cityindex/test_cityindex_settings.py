"""Indicator settings decoded with every problem located, and checked against the forms (pure)."""

import msgspec
import pytest

from cityindex.indicators import (
    FieldInfo,
    FormFields,
    SettingsError,
    check_against_forms,
    decode_settings,
    form_fields,
)
from exports.layout import schema_of
from forms.model import FormDefinition

COUNT = {"key": "trees", "label": "Trees", "form": "walk", "aggregate": "count"}


def problems_of(raw):
    with pytest.raises(SettingsError) as caught:
        decode_settings(raw)
    return [(p.loc, p.code) for p in caught.value.problems]


def test_a_bare_list_and_the_settings_object_decode_alike():
    bare = decode_settings([COUNT])
    full = decode_settings({"indicators": [COUNT], "aggregation": "geometric", "min_coverage": 0.75})
    assert bare.indicators == full.indicators
    assert (bare.aggregation, bare.min_coverage) == ("arithmetic", 0.5)
    assert (full.aggregation, full.min_coverage) == ("geometric", 0.75)
    ind = bare.indicators[0]
    assert (ind.direction, ind.weight, ind.normalization, ind.min_records, ind.bounds) == (
        "higher_better",
        1.0,
        "minmax",
        1,
        None,
    )


def test_every_problem_is_located_at_once():
    mean = {"key": "width", "label": "Width", "form": "walk", "aggregate": "mean"}
    found = problems_of(
        {
            "indicators": [
                mean,  # no field
                COUNT | {"normalization": "target"},  # no target
                COUNT | {"key": "b", "bounds": [5, 1]},
                COUNT,  # the key of indicator 1 again
                COUNT | {"key": "c", "weight": 0},
                COUNT | {"key": "d", "min_records": 0},
                COUNT | {"key": "e", "colour": "red"},
                COUNT | {"key": "1st"},
                COUNT | {"key": "f", "normalization": "target", "target": -2},
                COUNT | {"key": "g", "target": 3},
                COUNT | {"key": "h", "label": {"th": "ต้นไม้\x07"}},
                COUNT | {"key": "i", "weight": 1001},
            ],
            "min_coverage": 1.5,
        }
    )
    assert found == [
        (["min_coverage"], "invalid_value"),
        (["indicators", 0, "field"], "missing_field"),
        (["indicators", 1, "target"], "missing_target"),
        (["indicators", 2, "bounds"], "invalid_bounds"),
        (["indicators", 3, "key"], "duplicate_key"),
        (["indicators", 4, "weight"], "invalid_value"),
        (["indicators", 5, "min_records"], "invalid_value"),
        (["indicators", 6, "colour"], "unknown_field"),
        (["indicators", 7, "key"], "invalid_value"),
        (["indicators", 8, "target"], "invalid_target"),
        (["indicators", 9, "target"], "unused_target"),
        (["indicators", 10, "label", "th"], "invalid_text"),
        (["indicators", 11, "weight"], "invalid_value"),
    ]


@pytest.mark.parametrize("raw", [None, "trees", {"indicators": []}, {"indicators": [COUNT] * 201}, {"x": 1}])
def test_the_shape_itself_is_checked(raw):
    assert problems_of(raw)[0][0] in ([], ["indicators"])


def test_a_problem_message_names_the_indicator():
    with pytest.raises(SettingsError) as caught:
        decode_settings([{"key": "width", "label": "W", "form": "walk", "aggregate": "median"}])
    assert caught.value.problems[0].message.startswith("indicator 'width': median needs")
    assert str(caught.value).startswith("invalid indicators: indicator 'width'")


WALK = msgspec.convert(
    {
        "key": "walk",
        "version": "1",
        "title": "Walk",
        "fields": [
            {"name": "state", "type": "select_one", "choices": "states"},
            {"name": "issues", "type": "select_multiple", "choices": "issues"},
            {"name": "note", "type": "text"},
            {"name": "site", "type": "group", "fields": [{"name": "width", "type": "decimal"}]},
        ],
        "choices": {
            "states": [{"value": "ok"}, {"value": "blocked"}],
            "issues": [{"value": "tree"}, {"value": "ramp"}],
        },
    },
    FormDefinition,
)


def test_the_fields_of_a_form_come_from_its_export_schema():
    fields = form_fields(schema_of("walk", [WALK])).fields
    assert fields["state"] == FieldInfo(type="select_one", choices=["ok", "blocked"])
    assert fields["issues"] == FieldInfo(type="select_multiple", choices=["tree", "ramp"])
    assert fields["site/width"] == FieldInfo(type="decimal", choices=None)
    assert "site" not in fields


def test_indicators_are_checked_against_the_forms():
    settings = decode_settings(
        [
            COUNT | {"key": "a", "form": "nope"},
            {"key": "b", "label": "B", "form": "walk", "aggregate": "mean", "field": "width"},
            {"key": "c", "label": "C", "form": "walk", "aggregate": "sum", "field": "note"},
            COUNT | {"key": "d", "where": {"state": ["ok", "closed"], "issues": "bench", "colour": "red"}},
            COUNT | {"key": "e", "where": {"note": "anything", "issues": ["tree"], "state": "blocked"}},
            {"key": "f", "label": "F", "form": "walk", "aggregate": "median", "field": "site/width"},
        ]
    )
    forms = {"walk": form_fields(schema_of("walk", [WALK])), "empty": FormFields(fields={})}
    found = [(p.loc, p.code) for p in check_against_forms(settings, forms)]
    assert found == [
        (["indicators", 0, "form"], "unknown_form"),
        (["indicators", 1, "field"], "unknown_field"),
        (["indicators", 2, "field"], "not_numeric"),
        (["indicators", 3, "where", "state"], "unknown_choice"),
        (["indicators", 3, "where", "issues"], "unknown_choice"),
        (["indicators", 3, "where", "colour"], "unknown_field"),
    ]
    messages = [p.message for p in check_against_forms(settings, forms)]
    assert "'closed' is not a choice of 'state' (ok, blocked)" in messages[3]


def test_where_values_given_as_numbers_or_booleans_are_compared_as_text():
    settings = decode_settings([COUNT | {"where": {"floors": [2, 3.0], "shaded": True, "kind": "shop"}}])
    assert settings.indicators[0].where == {"floors": ["2", "3"], "shaded": "true", "kind": "shop"}
    assert problems_of([COUNT | {"where": {"floors": {"gt": 2}}}]) == [
        (["indicators", 0, "where"], "invalid_value")
    ]
