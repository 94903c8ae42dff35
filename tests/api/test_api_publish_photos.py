"""Publish of a form with photos: the city tables hold the links that download the files."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.api.city_database import *  # noqa: F403  (the fixtures)
from tests.api.city_database import city_rows, publish
from tests.api.test_api_attachments import BASE, JPEG, photo_form, shop_item
from tests.factories import SYNC, batch


async def test_photo_columns_hold_download_links(
    client: AsyncClient, member: Any, city_url: str, city_schema: str
) -> None:
    coordinator = await member("coordinator", pii=True)
    volunteer = await member("volunteer")
    await photo_form(client, coordinator)
    item = shop_item()
    pushed = await client.post(SYNC, json=batch(item), headers=volunteer.headers)
    assert pushed.status_code == 200, pushed.text
    put = await client.put(
        f"{BASE}/{item['uuid']}/attachments/front.jpg",
        content=JPEG,
        headers={**volunteer.headers, "Content-Type": "image/jpeg"},
    )
    assert put.status_code == 201

    counts = await publish(client, coordinator)
    assert counts["korat__shops"] == (1, 0) and counts["korat__shops__rooms"] == (2, 0)
    [row] = await city_rows(city_url, city_schema, "korat__shops")
    url = f"http://survey.test/api/v1/projects/korat/submissions/{item['uuid']}/attachments/front.jpg"
    assert row["front"] == url
    room_rows = await city_rows(city_url, city_schema, "korat__shops__rooms")
    rooms = sorted(r["rooms__picture"] for r in room_rows)
    assert rooms == [url.replace("front.jpg", "room1.jpg"), url.replace("front.jpg", "room2.jpg")]
    downloaded = await client.get(url.removeprefix("http://survey.test"), headers=coordinator.headers)
    assert downloaded.content == JPEG
    assert await publish(client, coordinator) == dict.fromkeys(counts, (0, 0))
