import io
import time
import zipfile

import pytest

from forms.errors import InvalidDefinition, UnreadableFile
from forms.model import iter_fields
from forms.xlsform import load_xlsform
from tests.workbooks import build_xlsx

HEAD = [
    "type",
    "name",
    "label::Thai (th)",
    "label::English (en)",
    "required",
    "constraint",
    "relevant",
    "sensitive",
]
SETTINGS = [
    ["form_id", "version", "form_title", "default_language"],
    ["sidewalk_audit", "2026-11-20", "Sidewalk", "th"],
]
CHOICES = [
    ["list_name", "name", "label::Thai (th)", "label::English (en)"],
    ["surface", "concrete", "คอนกรีต", "Concrete"],
    ["surface", "brick", "อิฐ", "Brick"],
    ["obstacle", "vendor", "แผงลอย", "Street vendor"],
    ["obstacle", "pole", "เสาไฟ", None],  # the English translation is missing
    ["obstacle", "other", "อื่นๆ", "Other"],
]


def sidewalk() -> bytes:
    survey = [
        HEAD,
        ["geopoint", "location", "ตำแหน่ง", "Location", "yes", None, None, None],
        ["begin group", "shop", "ร้าน", "Shop", None, None, None, None],
        ["text", "shop_name", "ชื่อร้าน", "Shop name", None, None, None, None],
        ["text", "owner_phone", "โทรศัพท์", "Phone", None, None, None, "yes"],
        ["select_one surface or_other", "surface", "ผิวทางเท้า", "Surface", None, None, None, None],
        ["select_multiple obstacle", "obstacles", "สิ่งกีดขวาง", "Obstacles", None, None, None, None],
        ["text", "other_obstacle", "อื่นๆ", "Other", None, None, "selected(${obstacles}, 'other')", None],
        ["decimal", "width_m", "ความกว้าง", "Width", None, ". >= 0 and . <= 20", None, None],
        ["begin repeat", "trees", "ต้นไม้", "Trees", None, None, None, None],
        ["text", "species", "ชนิด", "Species", None, None, None, None],
        ["integer", "girth_cm", "เส้นรอบวง", "Girth", None, ". > 0", None, None],
        ["end repeat", None, None, None, None, None, None, None],
        ["end group", None, None, None, None, None, None, None],
    ]
    return build_xlsx(survey, CHOICES, SETTINGS)


def test_sidewalk_audit_maps_to_a_definition() -> None:
    defn, warnings = load_xlsform(sidewalk())
    assert (defn.key, defn.version, defn.default_language) == ("sidewalk_audit", "2026-11-20", "th")
    paths = dict(iter_fields(defn))
    assert list(paths) == [
        "location",
        "shop",
        "shop/shop_name",
        "shop/owner_phone",
        "shop/surface",
        "shop/surface_other",
        "shop/obstacles",
        "shop/other_obstacle",
        "shop/width_m",
        "shop/trees",
        "shop/trees/species",
        "shop/trees/girth_cm",
    ]
    assert paths["location"].required and paths["location"].label == {"th": "ตำแหน่ง", "en": "Location"}
    assert paths["shop/owner_phone"].sensitive and not paths["shop/shop_name"].sensitive
    assert paths["shop/surface"].or_other and paths["shop/surface"].choices == "surface"
    assert paths["shop/surface_other"].relevant == "selected(${surface}, 'other')"
    assert paths["shop/obstacles"].type == "select_multiple"
    assert paths["shop/trees"].type == "repeat" and paths["shop/trees/girth_cm"].constraint == ". > 0"
    assert defn.choices["obstacle"][1].label == {"th": "เสาไฟ"}
    [warning] = warnings  # pyxform's own, passed on: nothing in this form goes unevaluated
    assert "or_other" in warning


def test_street_vendor_survey_with_renames_and_bare_labels() -> None:
    survey = [
        ["type", "name", "label", "label::English (en)", "renamed_from", "calculation"],
        ["text", "vendor_name", "ชื่อผู้ค้า", "Vendor name", "name_of_vendor", None],
        ["integer", "stalls", "จำนวนแผง", "Stalls", None, None],
        ["calculate", "double", None, None, None, "${stalls} * 2"],
        ["date", "visit_date", "วันที่", "Date", None, None],
    ]
    settings = [["form_id", "version", "default_language"], ["street_vendors", "3", "th"]]
    defn, _ = load_xlsform(build_xlsx(survey, None, settings))
    paths = dict(iter_fields(defn))
    assert paths["vendor_name"].label == {"th": "ชื่อผู้ค้า", "en": "Vendor name"}
    assert paths["vendor_name"].renamed_from == "name_of_vendor"
    assert paths["double"].calculation == "${stalls} * 2"


def test_public_space_single_language_gives_plain_labels() -> None:
    survey = [
        ["type", "name", "label"],
        ["select_one kind", "kind", "Kind of space"],
        ["geoshape", "outline", "Area"],
    ]
    choices = [["list_name", "name", "label"], ["kind", "park", "Park"], ["kind", "plaza", "Plaza"]]
    defn, _ = load_xlsform(build_xlsx(survey, choices, [["form_id", "version"], ["public_space", "1"]]))
    assert defn.fields[0].label == "Kind of space"
    assert defn.choices["kind"][0].label == "Park"


def test_every_problem_is_reported_with_sheet_row_and_column() -> None:
    survey = [
        ["type", "name", "label", "constraint", "relevant"],
        ["integer", "age", "Age", ". >", None],
        ["text", "comment", "Comment", None, "jr:choice-name(${age}, 'x')"],
        ["foo", "weird", "Weird", None, None],
    ]
    with pytest.raises(InvalidDefinition) as err:
        load_xlsform(build_xlsx(survey, None, [["form_id", "version"], ["f", "1"]]))
    locs = {(tuple(p.loc), p.code) for p in err.value.problems}
    assert (("survey", 2, "constraint"), "bad_expression") in locs
    assert (("survey", 4, "type"), "unknown_type") in locs
    assert any("jr:choice-name" in w for w in err.value.warnings)


def test_pyxform_errors_carry_the_row() -> None:
    survey = [["type", "name", "label"], ["text", "a", "A"], ["text", "a", "again"]]
    with pytest.raises(InvalidDefinition) as err:
        load_xlsform(build_xlsx(survey, None, [["form_id", "version"], ["f", "1"]]))
    assert err.value.problems[0].loc[:2] == ["survey", 3]
    choices = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "yes", "Yes again"]]
    with pytest.raises(InvalidDefinition) as err:
        load_xlsform(build_xlsx([["type", "name", "label"], ["select_one yn", "a", "A"]], choices, SETTINGS))
    assert err.value.problems[0].loc[:2] == ["choices", 3]


def test_without_form_id_or_file_name_the_key_is_a_problem() -> None:
    with pytest.raises(InvalidDefinition) as err:
        load_xlsform(build_xlsx([["type", "name", "label"], ["text", "a", "A"]]))
    assert [(p.loc, p.code) for p in err.value.problems] == [(["settings", 2, "form_id"], "missing_setting")]


def test_unreadable_files_are_refused_clearly() -> None:
    with pytest.raises(UnreadableFile, match=r"the \.xls file could not be read"):
        load_xlsform(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(UnreadableFile, match=r"not an Excel workbook"):
        load_xlsform(b"type,name,label\ntext,a,A\n")
    with pytest.raises(UnreadableFile):
        load_xlsform(sidewalk()[:2000])
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"\0" * (60 * 1024 * 1024))
    with pytest.raises(UnreadableFile) as err:
        load_xlsform(bomb.getvalue())
    assert err.value.problems[0].code == "zip_bomb"


def test_missing_survey_sheet() -> None:
    data = build_xlsx([["type", "name"]], None, SETTINGS)
    with pytest.raises(UnreadableFile, match="no 'survey' sheet") as err:
        load_xlsform(data)
    assert [p.code for p in err.value.problems] == ["missing_survey_sheet"]


def test_a_2000_row_form_imports_quickly() -> None:
    rows: list[list[object]] = [HEAD]
    for g in range(40):
        rows.append(["begin group", f"block_{g}", f"ช่วง {g}", f"Block {g}", None, None, None, None])
        for i in range(48):
            kind = ["text", "integer", "decimal", "select_one surface", "select_multiple obstacle", "date"][
                i % 6
            ]
            rows.append(
                [
                    kind,
                    f"q_{g}_{i}",
                    f"คำถาม {g}-{i} ผิวทางเท้า " * 40,
                    f"Question {g}-{i} sidewalk " * 40,
                    "yes",
                    None,
                    None,
                    None,
                ]
            )
        rows.append(["end group", None, None, None, None, None, None, None])
    data = build_xlsx(rows, CHOICES, SETTINGS)
    start = time.perf_counter()
    defn, _ = load_xlsform(data)
    seconds = time.perf_counter() - start
    expanded = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    print(f"\n2000-row XLSForm ({len(data) / 1e6:.1f} MB, {expanded / 1e6:.1f} MB unzipped): {seconds:.2f} s")
    assert sum(1 for _ in iter_fields(defn)) == 40 * 49


def _problems(survey: list[list[object]], choices: list[list[object]] | None = None) -> list[tuple]:
    with pytest.raises(InvalidDefinition) as err:
        load_xlsform(build_xlsx(survey, choices, SETTINGS))
    return [(*p.loc, p.code) for p in err.value.problems]


def test_pyxform_error_and_our_checks_come_back_together() -> None:
    survey = [
        HEAD,
        ["geopoint", "location", "ตำแหน่ง", "Location", "yes", None, None, None],
        ["text", "shop_name", "ชื่อร้าน", "Shop name", None, None, None, None],
        ["select_one surface", "surface", "ผิว", "Surface", None, None, None, None],
        ["decimal", "width_m", "กว้าง", "Width", None, ". >= 0", None, None],
        ["select_one nosuchlist", "kind", "ชนิด", "Kind", None, None, None, None],
        ["integer", "girth_cm", "รอบวง", "Girth", None, ". > ${missing_field}", None, None],
    ]
    found = _problems(survey, CHOICES)
    assert ("survey", 6, "type", "unknown_choices") in found
    assert ("survey", 7, "constraint", "unknown_reference") in found
    assert len(found) == 2  # pyxform's "List name not in choices sheet" is not repeated


def test_duplicate_name_and_unbalanced_end_group_are_both_listed() -> None:
    survey = [
        ["type", "name", "label", "relevant"],
        ["text", "shop_name", "Shop", None],
        ["begin group", "shop", "Shop", None],
        ["text", "shop_name", "Shop again (fine: another group)", None],
        ["end group", None, None, None],
        ["text", "shop_name", "Duplicate", "${shop_name} != ''"],
        ["text", "bad name", "Bad", "${shop_name} !="],
        ["end group", None, None, None],
    ]
    found = _problems(survey)
    assert found == [
        ("survey", 6, "name", "duplicate_name"),
        ("survey", 7, "name", "invalid_name"),
        ("survey", 7, "relevant", "bad_expression"),
        ("survey", 8, "type", "unbalanced_group"),
    ]


def test_unclosed_group_choices_and_settings_problems_sorted_by_sheet_then_row() -> None:
    survey = [
        ["type", "name", "label"],
        ["begin repeat", "trees", "Trees"],
        ["select_one yn", "ok", "OK"],
    ]
    choices = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "yes", "Again"]]
    with pytest.raises(InvalidDefinition) as err:
        load_xlsform(build_xlsx(survey, choices, [["form_id"], ["f"]]))
    assert [(*p.loc, p.code) for p in err.value.problems] == [
        ("survey", 2, "type", "unbalanced_group"),
        ("choices", 3, "name", "duplicate_choice"),
    ]


def test_unsupported_function_is_a_warning_even_when_pyxform_fails() -> None:
    survey = [
        ["type", "name", "label", "relevant"],
        ["text", "a", "A", "jr:choice-name(${a}, 'x')"],
        ["select_one nosuch", "b", "B", None],
    ]
    with pytest.raises(InvalidDefinition) as err:
        load_xlsform(build_xlsx(survey, None, SETTINGS))
    assert [(*p.loc, p.code) for p in err.value.problems] == [("survey", 3, "type", "unknown_choices")]
    assert any("jr:choice-name" in w for w in err.value.warnings)


def test_a_valid_form_still_loads_without_problems() -> None:
    defn, warnings = load_xlsform(sidewalk())
    assert defn.key == "sidewalk_audit" and sum(1 for _ in iter_fields(defn)) == 12
    assert [w for w in warnings if "or_other" not in w] == []  # only pyxform's note on or_other
