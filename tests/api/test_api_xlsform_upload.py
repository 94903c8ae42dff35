"""XLSForms as coordinators bring them (issue 15): each is uploaded, then read back as a tablet would."""

from __future__ import annotations

import re
from typing import Any

import pytest
from httpx import AsyncClient

from tests.factories import Person
from tests.workbooks import XLS, XLSX, build_xls, build_xlsx

TEXT_AND_INTEGER = [
    ["type", "name", "label"],
    ["text", "your_name", "What is your name?"],
    ["integer", "your_age", "How old are you?"],
]


async def upload(client: AsyncClient, who: Person, data: bytes, filename: str, media: str = XLSX) -> Any:
    return await client.post(
        "/api/v1/projects/korat/forms", files={"file": (filename, data, media)}, headers=who.headers
    )


async def read_back(client: AsyncClient, who: Person, created: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/projects/korat/forms/{created['key']}/versions/{created['version']}", headers=who.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_settings_without_form_id_and_version_take_the_file_name_and_a_timestamp(
    client: AsyncClient, member
) -> None:
    coordinator = await member("coordinator")
    survey = [["type", "name", "label"], ["text", "shop_name", "Shop name"]]
    response = await upload(
        client, coordinator, build_xlsx(survey, None, [["form_title"], ["Shops"]]), "shops.xlsx"
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["key"] == "shops" and re.fullmatch(r"\d{12}", created["version"])
    assert any("no form_id" in w for w in created["warnings"])
    assert any("no version" in w for w in created["warnings"])
    definition = await read_back(client, coordinator, created)
    assert definition["title"] == "Shops" and [f["name"] for f in definition["fields"]] == ["shop_name"]


async def test_an_old_excel_xls_form_is_taken(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    data = build_xls(TEXT_AND_INTEGER)
    response = await upload(client, coordinator, data, "text_and_integer.xls", XLS)
    assert response.status_code == 201, response.text
    assert response.json()["key"] == "text_and_integer"
    definition = await read_back(client, coordinator, response.json())
    assert [(f["name"], f["type"]) for f in definition["fields"]] == [
        ("your_name", "text"),
        ("your_age", "integer"),
    ]
    assert definition["fields"][0]["label"] == "What is your name?"


async def test_curly_quotes_from_excel_autocorrect_are_read_as_straight_ones(
    client: AsyncClient, member
) -> None:
    coordinator = await member("coordinator")
    survey = [
        ["type", "name", "label", "relevant"],
        ["select_one yn", "has_shop", "Shop?", None],
        ["text", "shop_name", "Shop name", "selected(${has_shop}, ’yes’)"],
        ["text", "sign", "Sign", "${shop_name} != “”"],
    ]
    choices = [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]]
    settings = [["form_id", "version"], ["shops", "1"]]
    response = await upload(client, coordinator, build_xlsx(survey, choices, settings), "shops.xlsx")
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == []
    fields = (await read_back(client, coordinator, response.json()))["fields"]
    assert [f.get("relevant") for f in fields] == [None, "selected(${has_shop}, 'yes')", '${shop_name} != ""']


async def test_pyxforms_other_names_for_a_type_are_that_type(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    survey = [
        ["type", "name", "label"],
        ["gps", "where", "Where"],
        ["string", "shop_name", "Shop name"],
        ["add integer prompt", "stalls", "Stalls"],
        ["date time", "opened", "Opened"],
        ["phone number", "phone", "Phone"],
        ["uri:deviceid", "device", None],
    ]
    settings = [["form_id", "version"], ["shops", "1"]]
    response = await upload(client, coordinator, build_xlsx(survey, None, settings), "shops.xlsx")
    assert response.status_code == 201, response.text
    definition = await read_back(client, coordinator, response.json())
    fields = definition["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [
        ("where", "geopoint"),
        ("shop_name", "text"),
        ("stalls", "integer"),
        ("opened", "datetime"),
        ("phone", "text"),
    ]
    assert definition["metadata"] == {"device": "deviceid"}  # submission metadata, not a question
    assert fields[4]["constraint"] == "regex(., '^\\d*$')"  # pyxform's rule for the type is kept


async def test_a_note_without_a_name_is_named_as_pyxform_names_it(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    survey = [
        ["type", "name", "label"],
        ["text", "shop_name", "Shop name"],
        ["note", None, "Now walk to the next shop"],
    ]
    settings = [["form_id", "version"], ["shops", "1"]]
    response = await upload(client, coordinator, build_xlsx(survey, None, settings), "shops.xlsx")
    assert response.status_code == 201, response.text
    fields = (await read_back(client, coordinator, response.json()))["fields"]
    assert fields[1] == {
        "name": "generated_note_name_3",
        "type": "note",
        "label": "Now walk to the next shop",
    }


async def test_headers_in_capitals_are_read_and_problems_keep_their_row(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    survey = [
        ["TYPE", "NAME", "LABEL::English (en)", "RELEVANT"],
        ["select_one yn", "has_shop", "Shop?", None],
        ["text", "shop_name", "Shop name", "${has_shop} = 'yes'"],
        ["text", "sign", "Sign", "${nosuch} = 'yes'"],
    ]
    choices = [["LIST_NAME", "NAME", "LABEL::English (en)"], ["yn", "yes", "Yes"], ["yn", "yes", "Again"]]
    settings = [["FORM_ID", "VERSION"], ["shops", "1"]]
    refused = await upload(client, coordinator, build_xlsx(survey, choices, settings), "shops.xlsx")
    assert refused.status_code == 422, refused.text
    assert [(e["loc"], e["code"]) for e in refused.json()["errors"]] == [
        (["survey", 4, "relevant"], "unknown_reference"),
        (["choices", 3, "name"], "duplicate_choice"),
    ]
    survey[3][3], choices[2][1] = None, "no"
    response = await upload(client, coordinator, build_xlsx(survey, choices, settings), "shops.xlsx")
    assert response.status_code == 201, response.text
    assert (response.json()["key"], response.json()["version"]) == ("shops", "1")
    fields = (await read_back(client, coordinator, response.json()))["fields"]
    assert fields[1]["relevant"] == "${has_shop} = 'yes'" and fields[1]["label"] == {"en": "Shop name"}


async def test_allow_choice_duplicates_in_settings_allows_them(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    survey = [["type", "name", "label"], ["select_one county", "county", "County"]]
    choices = [
        ["list_name", "name", "label"],
        ["county", "king", "King (WA)"],
        ["county", "king", "King (TX)"],
    ]
    settings = [["form_id", "version", "allow_choice_duplicates"], ["counties", "1", "yes"]]
    response = await upload(client, coordinator, build_xlsx(survey, choices, settings), "counties.xlsx")
    assert response.status_code == 201, response.text
    definition = await read_back(client, coordinator, response.json())
    assert [c["label"] for c in definition["choices"]["county"]] == ["King (WA)", "King (TX)"]
    settings[1][2] = "no"
    refused = await upload(client, coordinator, build_xlsx(survey, choices, settings), "counties.xlsx")
    assert [(e["loc"], e["code"]) for e in refused.json()["errors"]] == [
        (["choices", 3, "name"], "duplicate_choice")
    ]


async def test_an_encrypted_form_is_refused_with_the_reason_at_its_settings_cell(
    client: AsyncClient, member
) -> None:
    coordinator = await member("coordinator")
    survey = [["type", "name", "label"], ["text", "shop_name", "Shop name"]]
    settings = [
        ["form_id", "version", "public_key", "submission_url"],
        ["shops", "1", "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", "https://example.org/submission"],
    ]
    refused = await upload(client, coordinator, build_xlsx(survey, None, settings), "shops.xlsx")
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["errors"]
    assert (problem["loc"], problem["code"]) == (["settings", 2, "public_key"], "encrypted_form")
    assert "must read every submission to find duplicates and to export it" in problem["message"]
    assert "remove public_key and submission_url" in problem["message"]
    listed = await client.get("/api/v1/projects/korat/forms/shops/versions", headers=coordinator.headers)
    assert listed.status_code == 404  # nothing was kept
    settings = [row[:2] for row in settings]
    response = await upload(client, coordinator, build_xlsx(survey, None, settings), "shops.xlsx")
    assert response.status_code == 201, response.text
    definition = await read_back(client, coordinator, response.json())
    assert [f["name"] for f in definition["fields"]] == ["shop_name"]


@pytest.mark.parametrize(
    ("form_id", "key"),
    [
        ("2011_07_25_transportation", "form_2011_07_25_transportation"),
        ("2021-03-21 18:07:55.551000", "form_2021-03-21_18_07_55.551000"),
    ],
)
async def test_a_form_id_that_is_no_key_gives_a_derived_key_and_says_so(
    client: AsyncClient, member, form_id: str, key: str
) -> None:
    coordinator = await member("coordinator")
    survey = [["type", "name", "label"], ["text", "shop_name", "Shop name"]]
    data = build_xlsx(survey, None, [["form_id", "version"], [form_id, "1"]])
    response = await upload(client, coordinator, data, "transport.xlsx")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["key"] == key
    assert any(form_id in w and repr(key) in w for w in created["warnings"]), created["warnings"]
    assert (await read_back(client, coordinator, created))["key"] == key
