"""Files of submissions over HTTP: put after the submission, read back, listed on the record."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import pytest
from httpx import AsyncClient

from survey_api.settings import Settings
from tests.factories import HERE, SYNC, batch, submission

PHOTOS = {
    "key": "shops",
    "version": "1",
    "title": "Shops",
    "fields": [
        {"name": "location", "type": "geopoint"},
        {"name": "shop_name", "type": "text"},
        {"name": "front", "type": "photo"},
        {"name": "id_card", "type": "photo", "sensitive": True},
        {"name": "visit", "type": "group", "fields": [{"name": "sound", "type": "audio"}]},
        {"name": "rooms", "type": "repeat", "fields": [{"name": "picture", "type": "photo"}]},
    ],
}
JPEG = b"\xff\xd8\xff\xe0" + b"photo bytes " * 100
BASE = "/api/v1/projects/korat/submissions"


async def photo_form(client: AsyncClient, who: Any) -> None:
    created = await client.post("/api/v1/projects/korat/forms", json=PHOTOS, headers=who.headers)
    assert created.status_code == 201, created.text
    published = await client.post(
        "/api/v1/projects/korat/forms/shops/versions/1/publish", headers=who.headers
    )
    assert published.status_code == 200, published.text


def shop_item(**answers: Any) -> dict[str, Any]:
    given = {
        "location": {"lat": HERE[0], "lon": HERE[1], "accuracy": 4.0},
        "shop_name": "ร้านป้าศรี",
        "front": "front.jpg",
        "visit": {"sound": "noise.m4a"},
        "rooms": [{"picture": "room1.jpg"}, {"picture": "room2.jpg"}],
    }
    return submission("shops", {**given, **answers}, version="1")


@pytest.fixture
async def sent(client: AsyncClient, member) -> dict[str, Any]:
    return await send_shop(client, member)


async def send_shop(client: AsyncClient, member: Any) -> dict[str, Any]:
    """A coordinator (pii), a volunteer and an analyst without pii; one shop submitted."""
    coordinator = await member("coordinator", pii=True)
    volunteer = await member("volunteer")
    analyst = await member("analyst")
    await photo_form(client, coordinator)
    item = shop_item(id_card="card.jpg")
    pushed = await client.post(SYNC, json=batch(item), headers=volunteer.headers)
    assert pushed.status_code == 200, pushed.text
    record_id = pushed.json()["results"][0]["record_id"]
    return {
        "coordinator": coordinator,
        "volunteer": volunteer,
        "analyst": analyst,
        "uuid": item["uuid"],
        "record_id": record_id,
    }


async def test_put_then_get_returns_the_same_bytes(client: AsyncClient, sent: dict[str, Any]) -> None:
    url = f"{BASE}/{sent['uuid']}/attachments/front.jpg"
    put = await client.put(
        url, content=JPEG, headers={**sent["volunteer"].headers, "Content-Type": "image/jpeg"}
    )
    assert put.status_code == 201, put.text
    body = put.json()
    assert body["field"] == "front" and body["size"] == len(JPEG) and body["content_type"] == "image/jpeg"
    assert body["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert not body["replaced"] and not body["unchanged"]

    got = await client.get(url, headers=sent["coordinator"].headers)
    assert got.status_code == 200
    assert got.content == JPEG
    assert got.headers["content-type"].startswith("image/jpeg")
    assert got.headers["etag"] == f'"{body["sha256"]}"'
    assert "front.jpg" in got.headers["content-disposition"]
    again = await client.get(
        url, headers={**sent["coordinator"].headers, "If-None-Match": got.headers["etag"]}
    )
    assert again.status_code == 304

    listed = await client.get(f"{BASE}/{sent['uuid']}/attachments", headers=sent["analyst"].headers)
    assert listed.status_code == 200
    assert [i["filename"] for i in listed.json()["items"]] == ["front.jpg"]


async def test_resend_is_unchanged_and_a_new_file_replaces(client: AsyncClient, sent: dict[str, Any]) -> None:
    headers = {**sent["volunteer"].headers, "Content-Type": "audio/mp4"}
    url = f"{BASE}/{sent['uuid']}/attachments/noise.m4a"
    first = await client.put(url, content=b"sound", headers=headers)
    assert first.status_code == 201 and first.json()["field"] == "visit/sound"
    again = await client.put(url, content=b"sound", headers=headers)
    assert again.status_code == 200 and again.json()["unchanged"] and not again.json()["replaced"]
    replaced = await client.put(url, content=b"louder sound", headers=headers)
    assert replaced.status_code == 200 and replaced.json()["replaced"] and not replaced.json()["unchanged"]
    assert replaced.json()["size"] == len(b"louder sound")
    got = await client.get(url, headers=sent["coordinator"].headers)
    assert got.content == b"louder sound"


async def test_repeat_field_and_unnamed_file(client: AsyncClient, sent: dict[str, Any]) -> None:
    headers = {**sent["volunteer"].headers, "Content-Type": "image/jpeg"}
    room = await client.put(f"{BASE}/{sent['uuid']}/attachments/room2.jpg", content=JPEG, headers=headers)
    assert room.status_code == 201 and room.json()["field"] == "rooms/picture"
    extra = await client.put(f"{BASE}/{sent['uuid']}/attachments/extra.jpg", content=JPEG, headers=headers)
    assert extra.status_code == 201 and extra.json()["field"] is None


async def test_refusals(client: AsyncClient, sent: dict[str, Any], settings: Settings) -> None:
    headers = {**sent["volunteer"].headers, "Content-Type": "image/jpeg"}
    unknown = await client.put(f"{BASE}/no-such-uuid/attachments/front.jpg", content=JPEG, headers=headers)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    bad = await client.put(f"{BASE}/{sent['uuid']}/attachments/a%01b.jpg", content=JPEG, headers=headers)
    assert bad.status_code == 422, bad.text
    long = await client.put(f"{BASE}/{sent['uuid']}/attachments/{'a' * 256}", content=JPEG, headers=headers)
    assert long.status_code == 422
    analyst = await client.put(
        f"{BASE}/{sent['uuid']}/attachments/front.jpg", content=JPEG, headers=sent["analyst"].headers
    )
    assert analyst.status_code == 403


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Small limits: one file up to 1 MiB, a submission's files up to 1.5 MiB, any other body 0.5 MiB
    (a file is bounded by its own limit, not the body's)."""
    return Settings(
        database_url="postgresql+asyncpg://unused",
        data_dir=tmp_path,
        max_body_mb=0.5,
        max_attachment_mb=1.0,
        max_submission_mb=1.5,
    )


async def test_413_over_either_limit(client: AsyncClient, sent: dict[str, Any]) -> None:
    headers = {**sent["volunteer"].headers, "Content-Type": "image/jpeg"}
    mib = 1024 * 1024
    over = await client.put(
        f"{BASE}/{sent['uuid']}/attachments/front.jpg", content=b"x" * (mib + 1), headers=headers
    )
    assert over.status_code == 413
    first = await client.put(
        f"{BASE}/{sent['uuid']}/attachments/front.jpg", content=b"x" * mib, headers=headers
    )
    assert first.status_code == 201
    second = await client.put(
        f"{BASE}/{sent['uuid']}/attachments/room1.jpg", content=b"y" * (mib // 2 + 1), headers=headers
    )
    assert second.status_code == 413
    assert "submission" in second.json()["detail"]
    # replacing a file counts its new size, not both
    smaller = await client.put(
        f"{BASE}/{sent['uuid']}/attachments/front.jpg", content=b"x" * 10, headers=headers
    )
    assert smaller.status_code == 200
    fits = await client.put(
        f"{BASE}/{sent['uuid']}/attachments/room1.jpg", content=b"y" * (mib // 2 + 1), headers=headers
    )
    assert fits.status_code == 201


async def test_sensitive_photo_needs_pii(client: AsyncClient, sent: dict[str, Any]) -> None:
    url = f"{BASE}/{sent['uuid']}/attachments/card.jpg"
    put = await client.put(
        url, content=JPEG, headers={**sent["volunteer"].headers, "Content-Type": "image/jpeg"}
    )
    assert put.status_code == 201 and put.json()["field"] == "id_card"
    refused = await client.get(url, headers=sent["analyst"].headers)
    assert refused.status_code == 403
    allowed = await client.get(url, headers=sent["coordinator"].headers)
    assert allowed.status_code == 200 and allowed.content == JPEG


async def test_record_lists_expected_then_received(client: AsyncClient, sent: dict[str, Any]) -> None:
    record_url = f"/api/v1/projects/korat/records/{sent['record_id']}"
    before = (await client.get(record_url, headers=sent["coordinator"].headers)).json()
    by_name = {a["name"]: a for a in before["attachments"]}
    assert set(by_name) == {"front.jpg", "card.jpg", "noise.m4a", "room1.jpg", "room2.jpg"}
    assert not any(a["received"] for a in by_name.values())
    assert by_name["room1.jpg"]["field"] == "rooms/picture"
    assert by_name["front.jpg"]["url"] == f"{BASE}/{sent['uuid']}/attachments/front.jpg"

    put = await client.put(
        f"{BASE}/{sent['uuid']}/attachments/front.jpg",
        content=JPEG,
        headers={**sent["volunteer"].headers, "Content-Type": "image/jpeg"},
    )
    assert put.status_code == 201
    listing = await client.get("/api/v1/projects/korat/forms/shops/records", headers=sent["analyst"].headers)
    [record] = listing.json()["items"]
    by_name = {a["name"]: a for a in record["attachments"]}
    assert by_name["front.jpg"]["received"] and by_name["front.jpg"]["size"] == len(JPEG)
    assert by_name["front.jpg"]["content_type"] == "image/jpeg"
    assert not by_name["room1.jpg"]["received"]
    # without pii the sensitive answer is null, so its file is not listed by name
    assert "card.jpg" not in by_name
    msgspec.json.decode(listing.content)
