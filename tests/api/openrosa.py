"""The `shops` form the OpenRosa tests publish, and a volunteer's tablet pointed at the server."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.factories import Person

SHOPS: dict[str, Any] = {
    "key": "shops",
    "version": "2026-11-30",
    "title": {"en": "Shops", "th": "ร้านค้า"},
    "default_language": "th",
    "fields": [
        {"name": "shop_name", "type": "text", "required": True, "label": {"en": "Name", "th": "ชื่อร้าน"}},
        {
            "name": "place",
            "type": "group",
            "fields": [
                {"name": "location", "type": "geopoint"},
                {"name": "opened", "type": "date"},
            ],
        },
        {"name": "goods", "type": "select_multiple", "choices": "goods"},
        {"name": "seats", "type": "integer", "constraint": ". >= 0"},
        {"name": "frontage", "type": "geotrace"},
        {"name": "front", "type": "photo"},
        {"name": "street", "type": "photo"},
        {"name": "staff", "type": "repeat", "fields": [{"name": "role", "type": "text"}]},
    ],
    "choices": {"goods": [{"value": "rice"}, {"value": "noodles"}, {"value": "drinks"}]},
}


async def publish_shops(client: AsyncClient, member: Any) -> tuple[Person, str]:
    """A coordinator who published `shops`, and the OpenRosa root of a volunteer's tablet."""
    coordinator = await member("coordinator", pii=True)
    volunteer = await member("volunteer")
    created = await client.post("/api/v1/projects/korat/forms", json=SHOPS, headers=coordinator.headers)
    assert created.status_code == 201, created.text
    published = await client.post(
        f"/api/v1/projects/korat/forms/shops/versions/{SHOPS['version']}/publish", headers=coordinator.headers
    )
    assert published.status_code == 200, published.text
    return coordinator, f"/openrosa/key/{volunteer.token}/projects/korat"
