"""What an XLSForm says beyond types is kept in the definition (issue 15): uploaded, then read back."""

from __future__ import annotations

from typing import Any

import msgspec
from httpx import AsyncClient

from tests.factories import SYNC, batch, submission
from tests.workbooks import XLSX, build_xlsx

FORMS = "/api/v1/projects/korat/forms"
HEADERS = [
    *("type", "name", "label::English (en)", "label::Thai (th)", "hint::English (en)", "hint::Thai (th)"),
    *("required", "required_message::English (en)", "readonly", "parameters", "image::English (en)"),
    *("audio", "video::Thai (th)", "repeat_count", "choice_filter"),
]


def row(kind: str, name: str | None = None, label: str | None = None, **cells: str) -> list[str | None]:
    cells = {
        k.replace("__", "::").replace("_en", " (en)").replace("_th", " (th)"): v for k, v in cells.items()
    }
    return [kind, name, label, *(cells.get(h) for h in HEADERS[3:])]


SURVEY = [
    HEADERS,
    [
        *("integer", "households", "Households", "ครัวเรือน", "How many?", "กี่ครัวเรือน", "yes", "Count them"),
        *(None, None, "house.png", "ask.mp3", "th.mp4", None, None),
    ],
    row("select_one province", "province", "Province"),
    row("select_one district", "district", "District", choice_filter="province = ${province}"),
    row("text", "code", "Code", readonly="yes"),
    row("image", "front", "Front", parameters="max-pixels=1024"),
    row("begin repeat", "house", "House", repeat_count="${households}"),
    row("text", "owner", "Owner"),
    row("end repeat"),
]
CHOICES = [
    ["list_name", "name", "label", "province", "image"],
    ["province", "korat", "Nakhon Ratchasima", None, "korat.png"],
    ["province", "bkk", "Bangkok", None, None],
    ["district", "pak_chong", "Pak Chong", "korat", None],
    ["district", "bang_rak", "Bang Rak", "bkk", None],
]
SETTINGS = [
    ["form_id", "version", "instance_name", "style"],
    ["walk", "1", "concat(${code}, '-', ${province})", "pages"],
]


async def test_the_definition_keeps_filters_counts_messages_hints_media_and_settings(
    client: AsyncClient, member
) -> None:
    coordinator, volunteer = await member("coordinator"), await member("volunteer")
    data = build_xlsx(SURVEY, CHOICES, SETTINGS)
    created = await client.post(FORMS, files={"file": ("walk.xlsx", data, XLSX)}, headers=coordinator.headers)
    assert created.status_code == 201, created.text
    assert (
        await client.post(f"{FORMS}/walk/versions/1/publish", headers=coordinator.headers)
    ).status_code == 200
    defn = (await client.get(f"{FORMS}/walk", headers=coordinator.headers)).json()
    fields = {f["name"]: f for f in defn["fields"]}
    assert (defn["instance_name"], defn["style"]) == ("concat(${code}, '-', ${province})", "pages")
    households = fields["households"]
    assert households["hint"] == {"en": "How many?", "th": "กี่ครัวเรือน"}
    assert households["required_message"] == {"en": "Count them"}
    assert households["media"] == {
        "image": {"en": "house.png"},
        "audio": "ask.mp3",
        "video": {"th": "th.mp4"},
    }
    assert fields["district"]["choice_filter"] == "province = ${province}"
    assert fields["code"]["readonly"] is True
    assert fields["front"]["parameters"] == {"max-pixels": "1024"}
    assert fields["house"]["repeat_count"] == "${households}"
    assert defn["choices"]["province"][0]["media"] == {"image": "korat.png"}
    assert defn["choices"]["district"][0]["columns"] == {"province": "korat"}

    body = batch(
        submission("walk", {"province": "korat", "district": "pak_chong", "households": 1}, version="1"),
        submission("walk", {"province": "korat", "district": "bang_rak"}, version="1"),
    )
    response = await client.post(
        SYNC,
        content=msgspec.json.encode(body),
        headers={**volunteer.headers, "Content-Type": "application/json"},
    )
    good, bad = response.json()["results"]
    assert good["issues"] == [], good
    found = {(tuple(i["loc"]), i["code"], i["message"]) for i in bad["issues"]}
    assert (
        ("answers", "district"),
        "not_in_choices",
        "'bang_rak' is not a choice given the earlier answers",
    ) in found
    assert (("answers", "households"), "required", "Count them") in found


async def test_a_json_definition_may_set_them_too(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    definition: dict[str, Any] = {
        "key": "walk_json",
        "version": "1",
        "title": "Walk",
        "instance_name": "${shop}",
        "fields": [
            {
                "name": "shop",
                "type": "text",
                "required": True,
                "required_message": "Name the shop",
                "readonly": False,
                "media": {"image": "shop.png"},
                "parameters": {"rows": "3"},
            },
            {"name": "kind", "type": "select_one", "choices": "kind", "choice_filter": "group = 'a'"},
        ],
        "choices": {"kind": [{"value": "x", "columns": {"group": "a"}}]},
    }
    created = await client.post(FORMS, json=definition, headers=coordinator.headers)
    assert created.status_code == 201, created.text
    back = await client.get(f"{FORMS}/walk_json/versions/1", headers=coordinator.headers)
    assert back.json()["fields"][0]["required_message"] == "Name the shop"
    assert back.json()["choices"]["kind"][0]["columns"] == {"group": "a"}
