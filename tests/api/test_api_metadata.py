"""An XLSForm's metadata rows are kept as the submission's metadata: typed, never among the answers."""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from typing import Any

import msgspec
import openpyxl
from httpx import AsyncClient

from tests.factories import SYNC, Person, batch, submission
from tests.workbooks import XLSX, build_xlsx

BASE = "/api/v1/projects/korat"
SURVEY = [
    ["type", "name", "label"],
    ["start", "start", None],
    ["end", "end", None],
    ["today", "today", None],
    ["deviceid", "deviceid", None],
    ["username", "username", None],
    ["geopoint", "location", "Where"],
    ["text", "shop_name", "Shop"],
    ["integer", "stalls", "Stalls"],
]
SETTINGS = [["form_id", "version"], ["walk", "1"]]
SENT = {
    "start": "2026-11-20T09:12:00+07:00",
    "end": "2026-11-20T09:40:00+07:00",
    "today": "2026-11-20",
    "deviceid": "collect:Xy12Ab",
    "username": "somchai",
}
TYPED = {
    "start": "2026-11-20T02:12:00Z",
    "end": "2026-11-20T02:40:00Z",
    "today": "2026-11-20",
    "deviceid": "collect:Xy12Ab",
    "username": "somchai",
}
POINT = {"lat": 14.973, "lon": 102.0836, "alt": None, "accuracy": 4.0}
ANSWERS = {"location": POINT, "shop_name": "ป้าศรี", "stalls": 3}


async def publish(client: AsyncClient, who: Person) -> None:
    data = build_xlsx(SURVEY, None, SETTINGS)
    created = await client.post(
        f"{BASE}/forms", files={"file": ("walk.xlsx", data, XLSX)}, headers=who.headers
    )
    assert created.status_code == 201, created.text
    published = await client.post(f"{BASE}/forms/walk/versions/1/publish", headers=who.headers)
    assert published.status_code == 200, published.text


async def push(client: AsyncClient, who: Person, *items: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.post(
        SYNC,
        content=msgspec.json.encode(batch(*items)),
        headers={**who.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def walk(answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return submission("walk", answers, version="1", **extra)


async def record(client: AsyncClient, who: Person, record_id: str) -> dict[str, Any]:
    response = await client.get(f"{BASE}/records/{record_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_metadata_are_kept_typed_beside_the_answers_not_among_them(client: AsyncClient, member) -> None:
    coordinator, volunteer = await member("coordinator", pii=True), await member("volunteer")
    await publish(client, coordinator)
    defn = (await client.get(f"{BASE}/forms/walk/versions/1", headers=coordinator.headers)).json()
    assert defn["metadata"] == {k: k for k in SENT}
    assert [f["name"] for f in defn["fields"]] == ["location", "shop_name", "stalls"]

    [result] = await push(client, volunteer, walk({**ANSWERS, **SENT}))
    assert result["status"] == "accepted" and result["issues"] == [], result
    shown = await record(client, coordinator, result["record_id"])
    assert shown["metadata"] == TYPED
    assert shown["answers"] == ANSWERS
    assert shown["issues"] == []

    listed = (await client.get(f"{BASE}/forms/walk/records", headers=coordinator.headers)).json()
    assert [r["metadata"] for r in listed["items"]] == [TYPED]
    changes = (await client.get(f"{SYNC}/changes", headers=volunteer.headers)).json()
    assert [(r["record_id"], r["metadata"]) for r in changes["items"]] == [(result["record_id"], TYPED)]


async def test_a_record_without_metadata_shows_null(client: AsyncClient, member) -> None:
    coordinator, volunteer = await member("coordinator", pii=True), await member("volunteer")
    await publish(client, coordinator)
    [result] = await push(client, volunteer, walk(ANSWERS))
    assert result["status"] == "accepted", result
    assert (await record(client, coordinator, result["record_id"]))["metadata"] is None


async def test_a_start_that_is_no_datetime_is_an_issue_and_the_record_is_kept(
    client: AsyncClient, member
) -> None:
    coordinator, volunteer = await member("coordinator", pii=True), await member("volunteer")
    await publish(client, coordinator)
    [result] = await push(client, volunteer, walk({**ANSWERS, **SENT, "start": "yesterday"}))
    assert result["status"] == "accepted" and result["errors"] == [], result
    assert [(i["loc"], i["code"]) for i in result["issues"]] == [(["answers", "start"], "bad_metadata")]
    shown = await record(client, coordinator, result["record_id"])
    assert shown["metadata"] == {k: v for k, v in TYPED.items() if k != "start"}
    assert shown["answers"] == ANSWERS
    assert [i["code"] for i in shown["issues"]] == ["bad_metadata"]


async def test_an_offline_edit_replaces_them_a_coordinators_edit_does_not(
    client: AsyncClient, member
) -> None:
    coordinator, volunteer = await member("coordinator", pii=True), await member("volunteer")
    await publish(client, coordinator)
    [created] = await push(client, volunteer, walk({**ANSWERS, **SENT}))
    rid = created["record_id"]

    second = {**SENT, "start": "2026-11-21T08:00:00+07:00", "today": "2026-11-21", "username": "malee"}
    [edited] = await push(
        client, volunteer, walk({**ANSWERS, **second, "stalls": 4}, record_id=rid, base_revision=1)
    )
    assert (edited["status"], edited["revision"]) == ("accepted", 2)
    shown = await record(client, coordinator, rid)
    assert shown["answers"]["stalls"] == 4
    assert shown["metadata"] == {
        **TYPED,
        "start": "2026-11-21T01:00:00Z",
        "today": "2026-11-21",
        "username": "malee",
    }

    patched = await client.patch(
        f"{BASE}/records/{rid}",
        json={"base_revision": 2, "answers": {"shop_name": "ร้านป้าศรี", "start": "2030-01-01T00:00:00Z"}},
        headers=coordinator.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["revision"] == 3
    assert patched.json()["metadata"] == shown["metadata"]
    assert "start" not in patched.json()["answers"]

    # A stale edit (base 1) of another answer merges; its metadata replace the record's.
    third = {**SENT, "end": "2026-11-22T10:00:00+07:00", "deviceid": "collect:Other"}
    moved = {**ANSWERS, "location": {**POINT, "accuracy": 3.0}, **third}
    [stale] = await push(client, volunteer, walk(moved, record_id=rid, base_revision=1))
    assert (stale["status"], stale["revision"]) == ("merged", 4), stale
    shown = await record(client, coordinator, rid)
    assert (shown["answers"]["shop_name"], shown["answers"]["stalls"]) == ("ร้านป้าศรี", 4)
    assert shown["location"]["accuracy"] == 3.0
    assert shown["metadata"] == {**TYPED, "end": "2026-11-22T03:00:00Z", "deviceid": "collect:Other"}

    # The same answers sent again from another tablet: no new revision, the metadata are its.
    same = {**shown["answers"], **SENT, "deviceid": "collect:Third"}
    [again] = await push(client, volunteer, walk(same, record_id=rid, base_revision=4))
    assert (again["status"], again["revision"]) == ("accepted", 4), again
    assert (await record(client, coordinator, rid))["metadata"] == {**TYPED, "deviceid": "collect:Third"}


async def test_metadata_are_no_content_a_double_tap_is_caught_and_the_survivor_keeps_its_own(
    client: AsyncClient, member
) -> None:
    coordinator, volunteer = await member("coordinator", pii=True), await member("volunteer")
    await publish(client, coordinator)
    times = {"started_at": "2026-11-20T09:00:00+07:00", "ended_at": "2026-11-20T09:01:00+07:00"}
    answers = {"shop_name": "ป้าศรี", "stalls": 3}
    tap = walk({**answers, **SENT}, **times)
    twice = walk({**answers, **SENT, "start": "2026-11-20T09:13:00+07:00"}, **times)
    first, second = await push(client, volunteer, tap, twice)
    assert (first["status"], second["status"]) == ("accepted", "merged_duplicate"), second
    assert second["record_id"] == first["record_id"]
    assert (await record(client, coordinator, first["record_id"]))["metadata"] == TYPED
    assert uuid.UUID(first["record_id"])


async def test_exports_show_metadata_as_leading_columns_typed(client: AsyncClient, member) -> None:
    coordinator, volunteer = await member("coordinator", pii=True), await member("volunteer")
    await publish(client, coordinator)
    [result] = await push(client, volunteer, walk({**ANSWERS, **SENT}))
    assert result["status"] == "accepted", result
    got = await client.get(f"{BASE}/forms/walk/export.xlsx", headers=coordinator.headers)
    assert got.status_code == 200, got.text
    rows = list(openpyxl.load_workbook(io.BytesIO(got.content))["walk"].iter_rows(values_only=True))
    header = list(rows[0])
    assert header[10:15] == ["_start", "_end", "_today", "_device", "_username"]
    row = dict(zip(header, rows[1], strict=True))
    assert row["_start"] == dt.datetime(2026, 11, 20, 9, 12)  # Excel's local time, in Asia/Bangkok
    assert row["_today"] == dt.datetime(2026, 11, 20)  # openpyxl reads an Excel date as a datetime
    assert row["_device"] == "collect:Xy12Ab" and row["_username"] == "somchai"
    assert "start" not in header and "deviceid" not in header
    features = json.loads(
        (await client.get(f"{BASE}/forms/walk/export.geojson", headers=coordinator.headers)).content
    )["features"]
    assert features[0]["properties"]["_start"] == "2026-11-20T09:12:00+07:00"
    assert features[0]["properties"]["_device"] == "collect:Xy12Ab"


async def test_phone_and_account_metadata_are_personal_data(client: AsyncClient, member) -> None:
    coordinator, volunteer = await member("coordinator", pii=True), await member("volunteer")
    analyst = await member("analyst")
    survey = [*SURVEY, ["phonenumber", "phonenumber", None], ["email", "email", None]]
    data = build_xlsx(survey, None, SETTINGS)
    created = await client.post(
        f"{BASE}/forms", files={"file": ("walk.xlsx", data, XLSX)}, headers=coordinator.headers
    )
    assert created.status_code == 201, created.text
    assert (
        await client.post(f"{BASE}/forms/walk/versions/1/publish", headers=coordinator.headers)
    ).is_success
    personal = {"phonenumber": "0812345678", "email": "somchai@example.org"}
    [result] = await push(client, volunteer, walk({**ANSWERS, **SENT, **personal}))
    seen = (await record(client, coordinator, result["record_id"]))["metadata"]
    withheld = (await record(client, analyst, result["record_id"]))["metadata"]
    assert seen["phonenumber"] == "0812345678" and seen["email"] == "somchai@example.org"
    assert withheld["phonenumber"] is None and withheld["email"] is None
    assert withheld["username"] == "somchai"  # the collector's name is not personal data here
    for who, phone in ((coordinator, "0812345678"), (analyst, None)):
        got = await client.get(f"{BASE}/forms/walk/export.geojson", headers=who.headers)
        assert json.loads(got.content)["features"][0]["properties"]["_phonenumber"] == phone
