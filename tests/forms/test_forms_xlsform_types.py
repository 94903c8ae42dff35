"""pyxform's names for our types, from pyxform's own table."""

from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

from forms.model import FIELD_TYPES
from forms.validate import compile_validator
from forms.xlsform import load_xlsform
from forms.xlsform_types import TYPES, field_type, unread
from tests.workbooks import build_xlsx


def test_every_pyxform_name_is_read_or_listed_as_not_yet() -> None:
    assert set(TYPES) | set(unread()) == set(QUESTION_TYPE_DICT)
    assert set(TYPES.values()) <= FIELD_TYPES
    assert {field_type(n) for n in ("gps", "location", "q geopoint", "add location prompt")} == {"geopoint"}
    assert field_type("note") == field_type("q note") == "note"  # a note is not a text question
    assert "select one external" in unread()  # its choices are on another sheet: not text


def test_a_types_own_rule_is_checked_by_the_validator() -> None:
    survey = [["type", "name", "label"], ["phone number", "phone", "Phone"]]
    defn, _ = load_xlsform(build_xlsx(survey, None, [["form_id", "version"], ["f", "1"]]))
    validator = compile_validator(defn)
    assert validator.validate({"phone": "0812345678"}).issues == []
    assert [p.code for p in validator.validate({"phone": "08-1234"}).issues] == ["constraint"]
