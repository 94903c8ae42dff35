"""A first publish pipes a form's plain records through PostgreSQL and sends the others through the
export's flattener: either way every row is the export's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.city_database import *  # noqa: F403  (the fixtures)
from tests.api.city_database import add_version, city_rows, matches_export, publish
from tests.factories import SYNC, batch, submission

FLAT: dict[str, Any] = {
    "key": "stalls",
    "version": "1",
    "title": {"th": "แผงลอย", "en": "Stalls"},
    "fields": [
        {"name": "location", "type": "geopoint"},
        {"name": "name", "type": "text"},
        {"name": "kind", "type": "select_one", "choices": "kinds"},
        {"name": "kinds", "type": "select_multiple", "choices": "kinds"},
        {"name": "size", "type": "integer"},
        {"name": "width", "type": "decimal"},
        {"name": "day", "type": "date"},
        {"name": "seen", "type": "datetime"},
        {"name": "phone", "type": "text", "sensitive": True},
        {
            "name": "trees",
            "type": "repeat",
            "fields": [{"name": "girth", "type": "integer"}, {"name": "note", "type": "text"}],
        },
    ],
    "choices": {"kinds": [{"value": "food"}, {"value": "repair"}]},
}
PLAIN = {
    "location": {"lat": 14.97, "lon": 102.1, "accuracy": 5.0},
    "name": "ร้านข้าวแกง 'ป้าศรี'\tทางเท้า\\ใต้",
    "kind": "food",
    "kinds": ["food", "repair"],
    "size": 12,
    "width": 1.75,
    "day": "2026-11-20",
    "seen": "2026-11-20T09:12:00.25+07:00",
    "phone": "0812345678",
    "trees": [{"girth": 90, "note": "old"}, {"girth": 120}],
}
OTHERS = [
    {"day": "2026-01-31", "name": "the 31st"},
    {"seen": "2026-11-20T09:12:00", "name": "no offset"},
    {"width": 0.1234567890123456789, "size": 3},
    {"kinds": [], "name": "no kind"},
    {"location": {"lat": 14.97, "lon": 102.1, "accuracy": 123456789.123456789}},
    {"trees": [{"girth": 1.5}], "name": "a decimal girth"},
    {"name": 12},
]


@pytest.mark.parametrize("city_url", ["postgis", "plain"], indirect=True)
async def test_plain_and_other_records_are_published_as_the_export_has_them(
    client, member, city_url, city_schema
):
    coordinator, analyst = await member("coordinator", pii=True), await member("analyst")
    await add_version(client, coordinator, FLAT)
    items = [submission("stalls", PLAIN, version="1"), submission("stalls", {}, version="1")]
    items += [submission("stalls", {**PLAIN, **other}, version="1") for other in OTHERS]
    pushed = await client.post(SYNC, json=batch(*items), headers=coordinator.headers)
    assert pushed.status_code == 200, pushed.text
    first = await publish(client, coordinator)
    assert first["korat__stalls"][1] == 0
    assert await publish(client, coordinator) == dict.fromkeys(first, (0, 0))
    rows = await city_rows(city_url, city_schema, "korat__stalls")
    assert len(rows) == first["korat__stalls"][0]
    assert await matches_export(client, analyst, city_url, city_schema, "stalls", pii=False) == len(
        rows
    ) + len(await city_rows(city_url, city_schema, "korat__stalls__trees"))
