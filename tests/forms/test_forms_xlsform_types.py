"""pyxform's names for our types, from pyxform's own table."""

import msgspec
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

from forms.model import FIELD_TYPES, Field, FormDefinition
from forms.validate import compile_validator
from forms.xlsform import load_xlsform
from forms.xlsform_types import TYPES, field_type, unread
from tests.workbooks import build_xlsx


def test_every_pyxform_name_is_read_or_listed_as_not_yet() -> None:
    assert set(TYPES) | set(unread()) == set(QUESTION_TYPE_DICT)
    assert set(TYPES.values()) <= FIELD_TYPES
    assert {field_type(n) for n in ("gps", "location", "q geopoint", "add location prompt")} == {"geopoint"}
    assert field_type("note") == field_type("q note") == "note"  # a note is not a text question
    assert field_type("select one external") == "select_one"  # its choices are on another sheet: not text


def test_a_types_own_rule_is_checked_by_the_validator() -> None:
    survey = [["type", "name", "label"], ["phone number", "phone", "Phone"]]
    defn, _ = load_xlsform(build_xlsx(survey, None, [["form_id", "version"], ["f", "1"]]))
    validator = compile_validator(defn)
    assert validator.validate({"phone": "0812345678"}).issues == []
    assert [p.code for p in validator.validate({"phone": "08-1234"}).issues] == ["constraint"]


def test_start_geopoint_is_read_as_a_geopoint_but_never_taken_as_the_forms_place() -> None:
    only_start = FormDefinition(
        key="walk", version="1", title="Walk", fields=[Field(name="warmup", type="start-geopoint")]
    )
    validator = compile_validator(only_start)
    assert validator.validate({"warmup": "14.97 102.08 0 5"}).answers["warmup"]["lat"] == 14.97
    assert validator.location_path is None
    both = msgspec.structs.replace(
        only_start, fields=[*only_start.fields, Field(name="shop", type="geopoint")]
    )
    assert compile_validator(both).location_path == "shop"
