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


async def test_a_loop_over_a_list_is_a_group_per_choice_as_pyxform_makes_it(
    client: AsyncClient, member
) -> None:
    coordinator, volunteer = await member("coordinator"), await member("volunteer")
    survey = [
        ["type", "name", "label::English (en)", "constraint"],
        ["begin loop over vehicle", "trips", "Trips", None],
        ["integer", "per_week", "How often by %(label)s?", ". >= 0"],
        ["end loop", None, None, None],
        ["text", "comment", "Comment", None],
    ]
    choices = [
        ["list_name", "name", "label::English (en)"],
        ["vehicle", "bus", "Bus"],
        ["vehicle", "motorbike", "Motorbike"],
        ["vehicle", "none", "None of these"],
    ]
    definition = await publish(client, coordinator, survey, choices)
    trips = definition["fields"][0]
    assert (trips["name"], trips["type"], trips["label"]) == ("trips", "group", {"en": "Trips"})
    assert [(g["name"], g["type"], g["label"]) for g in trips["fields"]] == [
        ("bus", "group", {"en": "Bus"}),
        ("motorbike", "group", {"en": "Motorbike"}),
    ]
    assert trips["fields"][1]["fields"] == [
        {
            "name": "per_week",
            "type": "integer",
            "label": {"en": "How often by Motorbike?"},
            "constraint": ". >= 0",
        }
    ]
    good, bad = await push(
        client,
        volunteer,
        {"trips": {"bus": {"per_week": 3}, "motorbike": {"per_week": 10}}, "comment": "ok"},
        {"trips": {"bus": {"per_week": "often"}}},
    )
    assert good["status"] == "accepted" and good["errors"] == [], good
    assert bad["status"] == "rejected" and [(e["loc"], e["code"]) for e in bad["errors"]] == [
        (["answers", "trips", "bus", "per_week"], "not_a_number")
    ]


async def test_loop_text_that_cannot_take_the_choice_is_refused_at_its_row(
    client: AsyncClient, member
) -> None:
    coordinator = await member("coordinator")
    survey = [
        ["type", "name", "label"],
        ["begin loop over vehicle", "trips", "Trips"],
        ["integer", "share", "Share of trips by %(label)s, in %"],
        ["end loop", None, None],
    ]
    choices = [["list_name", "name", "label"], ["vehicle", "bus", "Bus"]]
    data = build_xlsx(survey, choices, SETTINGS)
    refused = await client.post(FORMS, files={"file": ("walk.xlsx", data, XLSX)}, headers=coordinator.headers)
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["errors"]
    assert (problem["loc"], problem["code"]) == (["survey", 3, "label"], "bad_loop_text")
    assert "%(label)s" in problem["message"] and "%%" in problem["message"]


async def test_osm_trigger_acknowledge_and_rank_are_read_back_and_checked(
    client: AsyncClient, member
) -> None:
    coordinator, volunteer = await member("coordinator"), await member("volunteer")
    survey = [
        ["type", "name", "label"],
        ["osm building_tags", "building", "Trace the building"],
        ["trigger", "ready", "Ready to start?"],
        ["acknowledge", "consent", "The owner agrees"],
        ["rank surface", "worst", "Rank the surfaces, worst first"],
    ]
    choices = [
        ["list_name", "name", "label"],
        ["surface", "concrete", "Concrete"],
        ["surface", "tile", "Tile"],
    ]
    definition = await publish(client, coordinator, survey, choices)
    assert [(f["name"], f["type"], f.get("choices")) for f in definition["fields"]] == [
        ("building", "osm", None),
        ("ready", "trigger", None),
        ("consent", "acknowledge", None),
        ("worst", "rank", "surface"),
    ]
    answers = {"building": "1703.osm", "ready": "OK", "consent": "OK", "worst": ["tile", "concrete"]}
    good, unlisted, bad = await push(
        client,
        volunteer,
        answers,
        {**answers, "ready": "", "worst": "tile gravel"},
        {**answers, "consent": "yes"},
    )
    assert good["status"] == "accepted" and good["errors"] == good["issues"] == [], good
    assert [(i["loc"], i["code"]) for i in unlisted["issues"]] == [(["answers", "worst"], "not_in_choices")]
    assert bad["status"] == "rejected" and [(e["loc"], e["code"]) for e in bad["errors"]] == [
        (["answers", "consent"], "not_acknowledged")
    ]
