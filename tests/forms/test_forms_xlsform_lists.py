import pytest

from forms.model import iter_fields
from forms.validate import compile_validator
from forms.xlsform import load_xlsform
from tests.workbooks import build_xlsx

SETTINGS = [["form_id", "version"], ["places", "1"]]
SURVEY = [
    ["type", "name", "label", "choice_filter"],
    ["select_one province", "province", "Province", None],
    ["select_one_external district", "district", "District", "province=${province}"],
]
CHOICES = [["list_name", "name", "label"], ["province", "north", "North"], ["province", "south", "South"]]
EXTERNAL = [
    ["list_name", "name", "label::English (en)", "label::Thai (th)", "province"],
    ["district", "muang", "Muang", "เมือง", "north"],
    ["district", "muang", "Muang", "เมือง", "south"],  # the same name under another province
    ["district", "hat_yai", "Hat Yai", "หาดใหญ่", "south"],
]


def test_select_one_external_takes_its_choices_from_the_external_choices_sheet() -> None:
    defn, _ = load_xlsform(build_xlsx(SURVEY, CHOICES, SETTINGS, external_choices=EXTERNAL))
    district = dict(iter_fields(defn))["district"]
    assert (district.type, district.choices) == ("select_one", "district")
    assert [c.value for c in defn.choices["district"]] == ["muang", "hat_yai"]
    assert defn.choices["district"][1].label == {"en": "Hat Yai", "th": "หาดใหญ่"}


def test_answers_to_an_external_select_are_checked_against_its_list() -> None:
    defn, _ = load_xlsform(build_xlsx(SURVEY, CHOICES, SETTINGS, external_choices=EXTERNAL))
    validator = compile_validator(defn)
    assert validator.validate({"province": "south", "district": "hat_yai"}).issues == []
    issues = validator.validate({"province": "south", "district": "atlantis"}).issues
    assert [(i.loc, i.code) for i in issues] == [(["district"], "not_in_choices")]


def test_a_list_named_on_both_sheets_keeps_the_values_of_both() -> None:
    external = [["list_name", "name", "label"], ["province", "east", "East"]]
    survey = [*SURVEY[:2], ["select_one_external province", "other_province", "Other", "true()"]]
    defn, _ = load_xlsform(build_xlsx(survey, CHOICES, SETTINGS, external_choices=external))
    assert [c.value for c in defn.choices["province"]] == ["north", "south", "east"]


def test_an_external_select_without_the_sheet_is_refused_at_its_row() -> None:
    from forms.errors import InvalidDefinition

    with pytest.raises(InvalidDefinition) as err:
        load_xlsform(build_xlsx(SURVEY, CHOICES, SETTINGS))
    assert "external_choices" in err.value.problems[0].message
