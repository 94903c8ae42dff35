"""Settings as coordinators leave them: no form_id, no version, headers in capitals."""

from datetime import UTC, datetime

import pytest

from forms.xlsform import load_xlsform
from forms.xlsform_settings import key_from_filename
from tests.workbooks import build_xlsx

SURVEY = [["type", "name", "label"], ["text", "shop_name", "Shop name"]]
NOON = datetime(2026, 11, 20, 12, 5, tzinfo=UTC)


def test_no_settings_sheet_takes_the_file_name_and_the_upload_time() -> None:
    defn, warnings = load_xlsform(build_xlsx(SURVEY), "Sidewalk audit (v2).xlsx", now=NOON)
    assert (defn.key, defn.version, defn.title) == ("Sidewalk_audit_v2", "202611201205", "Sidewalk_audit_v2")
    assert any("no form_id" in w and "'Sidewalk_audit_v2'" in w for w in warnings)
    assert any("no version" in w and "'202611201205'" in w for w in warnings)


def test_settings_win_over_the_defaults_and_say_nothing() -> None:
    settings = [["form_id", "version"], ["sidewalk", "3"]]
    defn, warnings = load_xlsform(build_xlsx(SURVEY, None, settings), "other.xlsx", now=NOON)
    assert (defn.key, defn.version) == ("sidewalk", "3")
    assert not [w for w in warnings if "settings has no" in w]


def test_only_the_missing_one_is_defaulted() -> None:
    defn, warnings = load_xlsform(build_xlsx(SURVEY, None, [["version"], ["7"]]), "trees.xls", now=NOON)
    assert (defn.key, defn.version) == ("trees", "7")
    assert [w for w in warnings if "settings has no" in w] == [
        "settings has no form_id: the form's key 'trees' is taken from the file name"
    ]


@pytest.mark.parametrize(
    ("filename", "key"),
    [
        ("C:\\Users\\field\\Desktop\\household.xlsx", "household"),
        ("2024 census.xlsx", "form_2024_census"),
        ("สำรวจ.xlsx", None),
        (None, None),
    ],
)
def test_a_key_from_a_file_name_is_a_valid_name(filename: str | None, key: str | None) -> None:
    assert key_from_filename(filename) == key
