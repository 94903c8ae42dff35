"""Publish over HTTP into a real city database (this machine's PostgreSQL 15, with and without PostGIS):
tables read back with asyncpg and GDAL's ogrinfo, every row compared with the CSV export of its form."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import asyncpg
import pytest

from tests.api.city_database import *  # noqa: F403  (the fixtures)
from tests.api.city_database import (
    FORMS,
    PUBLISH,
    add_version,
    city_rows,
    matches_export,
    names_of,
    publish,
    v2,
)
from tests.factories import SYNC, batch, shop, submission
from tests.tools import need

POLICY = {"radius_m": 25, "match_fields": ["shop_name"], "auto_merge_score": 0.85, "review_score": 0.6}


async def test_publish_is_typed_idempotent_and_matches_the_export(
    client, shops, city_url, city_schema, tmp_path
):
    coordinator, analyst, ids = shops
    first = await publish(client, coordinator)
    assert first == {
        "korat__shops": (3, 0),
        "korat__shops__visit__staff": (2, 0),
        "korat__shops__visit__staff__shifts": (2, 0),
    }
    assert await publish(client, coordinator) == dict.fromkeys(first, (0, 0))
    assert await matches_export(client, analyst, city_url, city_schema, "shops", pii=False) == 7

    conn = await asyncpg.connect(city_url)
    try:
        types = dict(
            await conn.fetch(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = $1 AND table_name = 'korat__shops'",
                city_schema,
            )
        )
        comment = await conn.fetchval(
            "SELECT col_description(c.oid, a.attnum) FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = $1 AND c.relname = 'korat__shops' AND a.attname = 'shop_name'",
            city_schema,
        )
        geom = await conn.fetch(
            f'SELECT record_id, ST_AsText(geom) AS wkt FROM "{city_schema}".korat__shops ORDER BY record_id'
        )
        phones = await conn.fetch(f'SELECT phone FROM "{city_schema}".korat__shops')
    finally:
        await conn.close()
    assert types["record_id"] == "uuid" and types["size"] == "bigint" and types["opened"] == "date"
    assert (
        types["kinds"] == "ARRAY" and types["kinds__food"] == "boolean" and types["lat"] == "double precision"
    )
    assert types["_created_at"] == "timestamp with time zone" and types["geom"] == "USER-DEFINED"
    assert comment == "th: ร้าน | en: Shop"
    assert {str(r["record_id"]): r["wkt"] for r in geom}[ids[0]] == "POINT(102.1 14.97)"
    assert {str(r["record_id"]): r["wkt"] for r in geom}[ids[2]] is None
    assert [r["phone"] for r in phones] == [None] * 3  # personal data stays home by default

    need("ogrinfo", "gdal-bin")
    dbname = city_url.rpartition("/")[2]
    done = await asyncio.to_thread(
        subprocess.run,
        [
            "ogrinfo",
            "-ro",
            "-so",
            f"PG:dbname={dbname} host=127.0.0.1 user=postgres schemas={city_schema}",
            "korat__shops",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    assert "Geometry: Point" in out and "Feature Count: 3" in out
    assert "EPSG" in out and "4326" in out


async def test_an_edit_is_sent_and_personal_data_only_when_the_project_says_so(
    client, shops, city_url, city_schema
):
    coordinator, analyst, ids = shops
    await publish(client, coordinator)
    edit = await client.patch(
        f"/api/v1/projects/korat/records/{ids[1]}",
        json={"base_revision": 1, "answers": {"size": 40, "kinds": ["repair"]}},
        headers=coordinator.headers,
    )
    assert edit.status_code == 200, edit.text
    counts = await publish(client, coordinator)
    assert counts["korat__shops"] == (1, 0)
    assert await matches_export(client, analyst, city_url, city_schema, "shops", pii=False) == 7

    denied = await client.put(f"{PUBLISH}/settings", json={"publish_pii": True}, headers=analyst.headers)
    assert denied.status_code == 403
    on = await client.put(f"{PUBLISH}/settings", json={"publish_pii": True}, headers=coordinator.headers)
    assert on.status_code == 200 and on.json() == {"publish_pii": True}
    assert (await client.get(f"{PUBLISH}/settings", headers=coordinator.headers)).json() == {
        "publish_pii": True
    }
    assert (await publish(client, coordinator))["korat__shops"] == (3, 0)  # every row again, with its phone
    assert await matches_export(client, coordinator, city_url, city_schema, "shops", pii=True) == 7
    assert await publish(client, coordinator) == {
        "korat__shops": (0, 0),
        "korat__shops__visit__staff": (0, 0),
        "korat__shops__visit__staff__shifts": (0, 0),
    }


async def test_a_new_version_adds_widens_and_keeps_renamed_columns(client, shops, city_url, city_schema):
    coordinator, analyst, _ = shops
    await publish(client, coordinator)
    conn = await asyncpg.connect(city_url)
    try:
        await conn.execute(  # a city's own view on our table survives every publish
            f'CREATE VIEW "{city_schema}".big_shops AS SELECT record_id, size FROM "{city_schema}".korat__shops'
        )
    finally:
        await conn.close()
    await add_version(client, coordinator, v2())
    pushed = await client.post(
        SYNC,
        json=batch(submission("shops", {"name": "v2 shop", "size": 7.5, "rating": 4}, version="2")),
        headers=coordinator.headers,
    )
    assert pushed.status_code == 200, pushed.text
    counts = await publish(client, coordinator)
    assert counts["korat__shops"] == (4, 0)
    assert await matches_export(client, analyst, city_url, city_schema, "shops", pii=False) == 8
    names = await names_of(city_url, city_schema, "shops")
    assert names[""]["columns"]["name"] == "shop_name"  # the renamed field keeps its column
    rows = await city_rows(city_url, city_schema, "korat__shops")
    assert sorted(r["size"] for r in rows if r["size"] is not None) == [3.0, 7.5, 12.0]
    assert {r["shop_name"] for r in rows} >= {"ร้านซ่อม", "v2 shop"}
    conn = await asyncpg.connect(city_url)
    try:
        assert await conn.fetchval(f'SELECT count(*) FROM "{city_schema}".big_shops') == 4
    finally:
        await conn.close()


@pytest.mark.parametrize("city_url", ["plain"], indirect=True)
async def test_without_postgis_the_tables_have_lon_and_lat_only(client, shops, city_url, city_schema):
    coordinator, analyst, _ = shops
    assert (await publish(client, coordinator))["korat__shops"] == (3, 0)
    rows = await city_rows(city_url, city_schema, "korat__shops")
    assert "geom" not in rows[0] and {"lon", "lat"} <= rows[0].keys()
    assert await matches_export(client, analyst, city_url, city_schema, "shops", pii=False) == 7


async def test_a_merge_deletes_the_row_and_its_undo_brings_it_back(client, field, city_url, city_schema):
    coordinator, volunteer = field
    policy = await client.put(f"{FORMS}/sidewalk_audit/dedup", json=POLICY, headers=coordinator.headers)
    assert policy.status_code == 200, policy.text

    async def push(item: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(SYNC, json=batch(item), headers=volunteer.headers)
        assert response.status_code == 200, response.text
        return response.json()["results"][0]

    first = await push(shop("ร้านก๋วยเตี๋ยวเรือ", at="09:00"))
    assert (await publish(client, coordinator))["korat__sidewalk_audit"] == (1, 0)
    second = await push(shop("ร้านก๋วยเตี๋ยวต้มยำ", north_m=8, at="09:30", width_m=3.0))
    assert second["status"] == "possible_duplicate"
    assert (await publish(client, coordinator))["korat__sidewalk_audit"] == (0, 0)  # waits for review
    pairs = await client.get("/api/v1/projects/korat/review/duplicates", headers=coordinator.headers)
    [queued] = pairs.json()["items"]
    decided = await client.post(
        f"/api/v1/projects/korat/review/duplicates/{queued['id']}",
        json={"decision": "merge", "keep": second["record_id"]},
        headers=coordinator.headers,
    )
    assert decided.status_code == 200, decided.text
    assert (await publish(client, coordinator))["korat__sidewalk_audit"] == (1, 1)
    rows = await city_rows(city_url, city_schema, "korat__sidewalk_audit")
    assert [str(r["record_id"]) for r in rows] == [second["record_id"]]

    undo = await client.post(
        f"/api/v1/projects/korat/review/duplicates/{queued['id']}",
        json={"decision": "undo"},
        headers=coordinator.headers,
    )
    assert undo.status_code == 200, undo.text
    assert (await publish(client, coordinator))["korat__sidewalk_audit"] == (1, 1)
    rows = await city_rows(city_url, city_schema, "korat__sidewalk_audit")
    assert [str(r["record_id"]) for r in rows] == [first["record_id"]]
    assert await matches_export(client, coordinator, city_url, city_schema, "sidewalk_audit", pii=False) == 1


@pytest.mark.parametrize("city_url", ["postgis", "plain"], indirect=True)
async def test_lines_and_shapes_are_geometry_columns_with_postgis_and_text_without(
    client, member, city_url, city_schema
):
    coordinator = await member("coordinator", pii=True)
    fields = [
        {"name": "location", "type": "geopoint"},
        {"name": "route", "type": "geotrace"},
        {"name": "plot", "type": "geoshape"},
    ]
    await add_version(
        client, coordinator, {"key": "paths", "version": "v1", "title": "Paths", "fields": fields}
    )
    line = [{"lat": 14.97, "lon": 102.10}, {"lat": 14.98, "lon": 102.11}]
    ring = [*line, {"lat": 14.98, "lon": 102.10}, {"lat": 14.97, "lon": 102.10}]
    items = [submission("paths", {"route": line, "plot": ring}), submission("paths", {"location": line[0]})]
    pushed = await client.post(SYNC, json=batch(*items), headers=coordinator.headers)
    assert [r["status"] for r in pushed.json()["results"]] == ["accepted"] * 2, pushed.text
    assert (await publish(client, coordinator))["korat__paths"] == (2, 0)
    conn = await asyncpg.connect(city_url)
    try:
        if "survey_city_postgis_" in city_url:
            shapes = await conn.fetch(
                f'SELECT ST_AsText(route) AS route, ST_AsText(plot) AS plot FROM "{city_schema}".korat__paths'
            )
            assert {(r["route"], r["plot"]) for r in shapes} == {
                (
                    "LINESTRING(102.1 14.97,102.11 14.98)",
                    "POLYGON((102.1 14.97,102.11 14.98,102.1 14.98,102.1 14.97))",
                ),
                (None, None),
            }
            columns = await conn.fetch(
                "SELECT f_geometry_column, type, srid FROM geometry_columns"
                " WHERE f_table_schema = $1 AND f_table_name = 'korat__paths'",
                city_schema,
            )
            assert {tuple(r) for r in columns} == {
                ("geom", "POINT", 4326),
                ("route", "LINESTRING", 4326),
                ("plot", "POLYGON", 4326),
            }
        else:
            assert await matches_export(client, coordinator, city_url, city_schema, "paths", pii=False) == 2
    finally:
        await conn.close()
    assert (await publish(client, coordinator))["korat__paths"] == (0, 0)


async def test_a_table_or_column_the_city_dropped_is_made_again_with_every_row(
    client, shops, city_url, city_schema
):
    coordinator, analyst, _ = shops
    await publish(client, coordinator)
    conn = await asyncpg.connect(city_url)
    try:
        await conn.execute(f'ALTER TABLE "{city_schema}".korat__shops DROP COLUMN size')
        await conn.execute(f'DROP TABLE "{city_schema}".korat__shops__visit__staff__shifts')
    finally:
        await conn.close()
    counts = await publish(client, coordinator)
    assert counts["korat__shops"] == (3, 0) and counts["korat__shops__visit__staff__shifts"] == (2, 0)
    assert await matches_export(client, analyst, city_url, city_schema, "shops", pii=False) == 7
