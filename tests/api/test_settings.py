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


def test_export_files_are_kept_a_day_and_serve_runs_a_worker_by_default():
    settings = load_settings({})
    assert (settings.export_ttl_h, settings.worker) == (24, True)
    chosen = load_settings({"SURVEY_EXPORT_TTL_H": "720", "SURVEY_WORKER": "0"})
    assert (chosen.export_ttl_h, chosen.worker) == (720, False)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SURVEY_EXPORT_TTL_H", "0"),
        ("SURVEY_EXPORT_TTL_H", "721"),
        ("SURVEY_EXPORT_TTL_H", "1.5"),
        ("SURVEY_WORKER", "yes"),
    ],
)
def test_a_bad_export_ttl_or_worker_value_is_named(name: str, value: str):
    with pytest.raises(SettingsError, match=f"{name} .*{value!r}"):
        load_settings({name: value})


def test_the_public_url_is_kept_without_its_trailing_slash():
    assert load_settings({}).public_url is None
    chosen = load_settings({"SURVEY_PUBLIC_URL": "https://survey.korat.go.th/field/"})
    assert chosen.public_url == "https://survey.korat.go.th/field"
    assert load_settings({"SURVEY_PUBLIC_URL": "http://10.0.0.5:8000"}).public_url == "http://10.0.0.5:8000"


@pytest.mark.parametrize(
    "value",
    [
        "survey.korat.go.th",
        "ftp://survey.korat.go.th",
        "https://",
        "https://x.org/?a=1",
        "https://x.org:port",
        "https://x.org/a b",
        "https://x.org/" + "a" * 2000,
    ],
)
def test_a_bad_public_url_is_named(value: str):
    with pytest.raises(SettingsError, match="SURVEY_PUBLIC_URL"):
        load_settings({"SURVEY_PUBLIC_URL": value})
