import pytest

from forms.choice_lists import BadListFile, list_files, read_list_file, with_list_files
from forms.errors import InvalidDefinition
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
    with pytest.raises(InvalidDefinition) as err:
        load_xlsform(build_xlsx(SURVEY, CHOICES, SETTINGS))
    assert "external_choices" in err.value.problems[0].message


def test_a_select_from_file_keeps_the_file_its_list_comes_from_and_needs_it() -> None:
    survey = [["type", "name", "label"], ["select_one_from_file shops.csv", "shop", "Shop"]]
    defn, _ = load_xlsform(build_xlsx(survey, None, SETTINGS))
    assert dict(iter_fields(defn))["shop"].choices == "shops.csv"
    assert list_files(defn) == ["shops.csv"]
    with pytest.raises(InvalidDefinition) as err:
        with_list_files(defn, {})
    assert [(p.loc, p.code) for p in err.value.problems] == [(["media", "shops.csv"], "missing_file")]
    published = with_list_files(defn, {"shops.csv": b"name;label\ncafe;Cafe\n"})
    assert compile_validator(published).validate({"shop": "cafe"}).issues == []
    assert [i.code for i in compile_validator(published).validate({"shop": "bar"}).issues] == [
        "not_in_choices"
    ]


def test_a_list_from_an_xml_file_is_refused_with_the_reason() -> None:
    survey = [["type", "name", "label"], ["select_one_from_file shops.xml", "shop", "Shop"]]
    with pytest.raises(InvalidDefinition) as err:
        load_xlsform(build_xlsx(survey, None, SETTINGS))
    assert [(p.loc, p.code) for p in err.value.problems] == [(["survey", 2, "type"], "unsupported_list_file")]


def test_csv_lists_read_as_odk_collect_reads_them() -> None:
    data = "\ufeffname,label,district\nmuang,Muang,1\nmuang,Muang again,2\n\n".encode()
    assert [(c.value, c.label) for c in read_list_file("a.csv", data)] == [("muang", "Muang")]
    with pytest.raises(BadListFile) as err:
        read_list_file("a.csv", b"\xff\xfe")
    assert err.value.problems[0].code == "not_utf8"


def test_geojson_lists_take_the_feature_id_and_title() -> None:
    doc = b'{"type": "FeatureCollection", "features": [{"properties": {"id": 7, "title": "Seven"}}]}'
    assert [(c.value, c.label) for c in read_list_file("a.geojson", doc)] == [("7", "Seven")]
    with pytest.raises(BadListFile) as err:
        read_list_file("a.geojson", b'{"type": "FeatureCollection", "features": [{"properties": {}}]}')
    assert err.value.problems[0].loc == ["a.geojson", "features", 0]
