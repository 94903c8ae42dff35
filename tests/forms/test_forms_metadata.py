"""XLSForm metadata rows (start, end, today, deviceid, ...) are submission metadata, never questions."""

import msgspec
import pytest

from forms.checks import check
from forms.errors import InvalidDefinition
from forms.model import (
    METADATA_COLUMNS,
    METADATA_KINDS,
    Field,
    FormDefinition,
    definition_hash,
    encode_definition,
    metadata_column,
)
from forms.validate import compile_validator
from forms.xlsform import load_xlsform
from tests.workbooks import build_xlsx

SETTINGS = [["form_id", "version"], ["walk", "1"]]


def test_each_kind_has_its_export_column_in_order():
    assert METADATA_KINDS[:4] == ("start", "end", "today", "deviceid")
    assert metadata_column("deviceid") == "_device"
    assert metadata_column("start") == "_start"
    columns = ("_start", "_end", "_today", "_device", "_username", "_phonenumber", "_email", "_simserial")
    assert (*columns, "_subscriberid", "_audit") == METADATA_COLUMNS


def test_a_definition_without_metadata_encodes_and_hashes_as_before():
    defn = FormDefinition(key="walk", version="1", title="Walk", fields=[Field(name="q", type="text")])
    assert b"metadata" not in encode_definition(defn)
    with_meta = msgspec.structs.replace(defn, metadata={"start": "start"})
    assert definition_hash(with_meta) != definition_hash(defn)
    assert msgspec.json.decode(encode_definition(with_meta))["metadata"] == {"start": "start"}


def test_metadata_rows_become_metadata_and_the_rest_stay_fields():
    survey = [
        ["type", "name", "label", "constraint"],
        ["start", "start", None, None],
        ["end time", "finished", None, None],  # one of pyxform's other names for `end`
        ["today", "today", None, None],
        ["imei", "device", None, None],
        ["username", "username", None, None],
        ["phonenumber", "phone", None, None],
        ["audit", "audit", None, None],  # pyxform puts it in the meta block
        ["start-geopoint", "warmup", "Where", None],
        ["date", "visited", "Visited", ". <= ${today}"],
        ["begin group", "shop", "Shop", None],
        ["start", "shop_start", None, None],  # inside a group: stays the field it always was
        ["end group", None, None, None],
    ]
    defn, warnings = load_xlsform(build_xlsx(survey, None, SETTINGS))
    assert warnings == []
    assert defn.metadata == {
        "start": "start",
        "finished": "end",
        "today": "today",
        "device": "deviceid",
        "username": "username",
        "phone": "phonenumber",
        "audit": "audit",
    }
    assert [(f.name, f.type) for f in defn.fields] == [
        ("warmup", "start-geopoint"),
        ("visited", "date"),
        ("shop", "group"),
    ]
    assert [(f.name, f.type) for f in defn.fields[2].fields or []] == [("shop_start", "datetime")]


def test_a_form_of_nothing_but_metadata_is_still_refused_for_having_no_fields():
    survey = [["type", "name"], ["start", "start"], ["end", "end"]]
    with pytest.raises(InvalidDefinition) as refused:
        load_xlsform(build_xlsx(survey, None, SETTINGS))
    assert [p.code for p in refused.value.problems] == ["no_fields"]


def definition(metadata: dict[str, str]) -> FormDefinition:
    return FormDefinition(
        key="walk",
        version="1",
        title="Walk",
        fields=[
            Field(name="shop", type="text"),
            Field(name="visited", type="date", constraint=". <= ${today}"),
        ],
        metadata=metadata,
    )


def test_a_json_definition_may_declare_metadata_and_is_checked():
    problems, _ = check(definition({"start": "start", "today": "today"}))
    assert problems == []
    problems, _ = check(definition({"shop": "start", "9lives": "end", "when": "birthday", "today": "today"}))
    found = sorted((tuple(p.loc), p.code) for p in problems)
    assert found == [
        (("metadata", "9lives"), "invalid_name"),
        (("metadata", "shop"), "duplicate_name"),
        (("metadata", "when"), "unknown_metadata"),
    ]


def test_a_rule_naming_metadata_is_no_unknown_reference():
    problems, _ = check(definition({}))
    assert [(p.loc, p.code) for p in problems] == [(["fields", 1, "constraint"], "unknown_reference")]


VALIDATOR = compile_validator(
    definition({"start": "start", "end": "end", "today": "today", "device": "deviceid", "audit": "audit"})
)


def test_metadata_leave_the_answers_typed_by_kind():
    result = VALIDATOR.validate(
        {
            "shop": "ป้าศรี",
            "start": "2026-11-20T09:12:00+07:00",
            "end": "2026-11-20T09:40:30.5+07:00",
            "today": "2026-11-20",
            "device": "collect:Xy12",
            "meta": {"instanceID": "uuid:1", "audit": "audit.csv"},
        }
    )
    assert result.answers == {"shop": "ป้าศรี"}
    assert result.metadata == {
        "start": "2026-11-20T02:12:00Z",
        "end": "2026-11-20T02:40:30.500000Z",
        "today": "2026-11-20",
        "deviceid": "collect:Xy12",
        "audit": "audit.csv",
    }
    assert result.issues == [] and result.errors == []


def test_a_start_without_offset_is_read_in_the_project_zone_like_a_datetime_answer():
    result = VALIDATOR.validate({"start": "2026-11-20T09:12:00", "device": 356938035643809})
    assert result.metadata == {"start": "2026-11-20T02:12:00Z", "deviceid": "356938035643809"}
    assert [(p.loc, p.code) for p in result.issues] == [(["start"], "no_offset")]


def test_a_value_that_does_not_fit_is_an_issue_and_dropped_never_an_error():
    result = VALIDATOR.validate(
        {"shop": "x", "start": "yesterday", "end": 5, "today": "20/11/2026", "device": ["a"], "extra": 1}
    )
    assert result.errors == []
    assert result.metadata == {}
    assert result.answers == {"shop": "x"}
    assert sorted((tuple(p.loc), p.code) for p in result.issues) == [
        (("device",), "bad_metadata"),
        (("end",), "bad_metadata"),
        (("extra",), "unknown_field"),
        (("start",), "bad_metadata"),
        (("today",), "bad_metadata"),
    ]


def test_empty_metadata_are_missing_not_bad():
    result = VALIDATOR.validate({"shop": "x", "start": "", "today": None})
    assert (result.metadata, result.issues, result.answers) == ({}, [], {"shop": "x"})


def test_rules_read_metadata_by_name():
    later = VALIDATOR.validate({"today": "2026-11-20", "visited": "2026-11-21"})
    earlier = VALIDATOR.validate({"today": "2026-11-20", "visited": "2026-11-19"})
    assert [p.code for p in later.issues] == ["constraint"]
    assert earlier.issues == []


def test_a_form_without_metadata_reports_those_keys_as_unknown_fields():
    result = compile_validator(definition({})).validate({"shop": "x", "start": "2026-11-20T09:12:00Z"})
    assert result.metadata == {}
    assert [(p.loc, p.code) for p in result.issues] == [(["start"], "unknown_field")]
