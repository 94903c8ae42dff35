"""`SURVEY_*` variables as the CLI reads them: unset keeps the default, a bad value names itself."""

import pytest

from survey_api.settings import SettingsError, load_settings


def test_unset_and_empty_variables_keep_their_defaults():
    settings = load_settings({"SURVEY_INTAKE_PROCESSES": " ", "SURVEY_MAX_BODY_MB": ""})
    assert settings.intake_processes is None  # one helper per core, decided when the app starts
    assert settings.max_body_bytes == 16 * 1024 * 1024


def test_intake_processes_zero_judges_in_the_server_process():
    assert load_settings({"SURVEY_INTAKE_PROCESSES": "0"}).intake_processes == 0
    assert load_settings({"SURVEY_INTAKE_PROCESSES": "3"}).intake_processes == 3


@pytest.mark.parametrize("value", ["-1", "two", "1.5", "65"])
def test_a_bad_intake_processes_value_is_named(value: str):
    with pytest.raises(SettingsError, match=f"SURVEY_INTAKE_PROCESSES .*{value!r}"):
        load_settings({"SURVEY_INTAKE_PROCESSES": value})


def test_a_bad_body_limit_is_named():
    with pytest.raises(SettingsError, match="SURVEY_MAX_BODY_MB"):
        load_settings({"SURVEY_MAX_BODY_MB": "lots"})
