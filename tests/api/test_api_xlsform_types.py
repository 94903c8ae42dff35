"""XLSForm question types beyond the first contract (issue 15): uploaded, read back, then filled in."""

from __future__ import annotations

from typing import Any

import msgspec
from httpx import AsyncClient

from tests.factories import HERE, SYNC, Person, batch, submission
from tests.workbooks import XLSX, build_xlsx

FORMS = "/api/v1/projects/korat/forms"
SETTINGS = [["form_id", "version"], ["walk", "1"]]


async def publish(client: AsyncClient, who: Person, survey: list[list[Any]], choices: Any = None) -> Any:
    """Upload the XLSForm, publish it, and return the definition as a tablet downloads it."""
    data = build_xlsx(survey, choices, SETTINGS)
    created = await client.post(FORMS, files={"file": ("walk.xlsx", data, XLSX)}, headers=who.headers)
    assert created.status_code == 201, created.text
    published = await client.post(f"{FORMS}/walk/versions/1/publish", headers=who.headers)
    assert published.status_code == 200, published.text
    response = await client.get(f"{FORMS}/walk", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def push(client: AsyncClient, who: Person, *answers: dict[str, Any]) -> list[dict[str, Any]]:
    body = batch(*(submission("walk", a, version="1") for a in answers))
    response = await client.post(
        SYNC, content=msgspec.json.encode(body), headers={**who.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def test_start_geopoint_is_a_geopoint_taken_at_start_not_the_forms_place(
    client: AsyncClient, member
) -> None:
    coordinator, volunteer = await member("coordinator"), await member("volunteer")
    survey = [
        ["type", "name", "label"],
        ["start-geopoint", "warmup", None],
        ["text", "shop_name", "Shop name"],
    ]
    definition = await publish(client, coordinator, survey)
    assert [(f["name"], f["type"]) for f in definition["fields"]] == [
        ("warmup", "start-geopoint"),
        ("shop_name", "text"),
    ]
    good, bad = await push(
        client,
        volunteer,
        {"warmup": f"{HERE[0]} {HERE[1]} 180 5", "shop_name": "Pa Sri"},
        {"warmup": "14.9730", "shop_name": "Pa Sri"},
    )
    assert good["status"] == "accepted" and good["errors"] == [], good
    assert bad["status"] == "rejected" and [(e["loc"], e["code"]) for e in bad["errors"]] == [
        (["answers", "warmup"], "not_a_geopoint")
    ]


async def test_audio_video_and_file_are_attachments_answered_with_a_file_name(
    client: AsyncClient, member
) -> None:
    coordinator, volunteer = await member("coordinator"), await member("volunteer")
    survey = [
        ["type", "name", "label"],
        ["audio", "interview", "Record the interview"],
        ["add video prompt", "walkthrough", "Film the sidewalk"],
        ["file", "permit", "The shop's permit"],
        ["photo", "front", "Shop front"],
    ]
    definition = await publish(client, coordinator, survey)
    assert [(f["name"], f["type"]) for f in definition["fields"]] == [
        ("interview", "audio"),
        ("walkthrough", "video"),
        ("permit", "file"),
        ("front", "photo"),
    ]
    names = {"interview": "1700.m4a", "walkthrough": "1701.mp4", "permit": "permit.pdf", "front": "1702.jpg"}
    good, bad = await push(client, volunteer, names, {**names, "permit": 7})
    assert good["status"] == "accepted" and good["errors"] == [], good
    assert bad["status"] == "rejected" and [(e["loc"], e["code"]) for e in bad["errors"]] == [
        (["answers", "permit"], "wrong_type")
    ]
