"""Publish when it cannot: no city database, one that does not answer or refuses, a table that is not
ours, a publish already running, a connection killed half-way; the password never shown."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from survey_api.settings import SettingsError, load_settings
from survey_api.stores import city as city_store
from tests.api.city_database import *  # noqa: F403  (the fixtures)
from tests.api.city_database import PUBLISH, SECRET, matches_export, publish


@pytest.mark.parametrize("city_url", [None], indirect=True)
async def test_no_city_database_is_a_409_saying_so_and_analysts_may_not_publish(client, shops):
    coordinator, analyst, _ = shops
    response = await client.post(PUBLISH, headers=coordinator.headers)
    assert response.status_code == 409 and "SURVEY_CITY_DATABASE_URL" in response.json()["detail"]
    assert (await client.post(PUBLISH, headers=analyst.headers)).status_code == 403


@pytest.mark.parametrize(
    ("city_url", "status", "says"),
    [
        (f"postgresql://postgres:{SECRET}@127.0.0.1:1/city", 503, "does not answer"),
        (f"postgresql://nobody_here:{SECRET}@127.0.0.1:5432/postgres", 502, "refused the login"),
        (f"postgresql://postgres:{SECRET}@127.0.0.1:5432/no_such_city_db", 502, "does not exist"),
        (f"postgresql://postgres:{SECRET}@no-such-host.invalid:5432/city", 503, "cannot be found"),
    ],
    indirect=["city_url"],
)
async def test_an_unreachable_or_refusing_target_is_a_problem_that_never_shows_the_password(
    client, shops, city_url, status, says, caplog
):
    coordinator, _, _ = shops
    response = await client.post(PUBLISH, headers=coordinator.headers)
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]
    assert SECRET not in response.text and SECRET not in caplog.text


@pytest.mark.parametrize("city_url", ["weak"], indirect=True)
async def test_a_user_without_create_privilege_is_a_502_and_nothing_is_written(
    client, shops, city_dbs, city_schema
):
    coordinator, _, _ = shops
    response = await client.post(PUBLISH, headers=coordinator.headers)
    assert response.status_code == 502, response.text
    assert "privilege" in response.json()["detail"] and SECRET not in response.text
    admin = await asyncpg.connect(city_dbs["postgis"])
    try:
        assert await admin.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", city_schema) == 0
        # a city's DBA makes the schema and lets the user create in it: that is enough
        weak = city_dbs["weak"].split("//")[1].split(":")[0]
        await admin.execute(
            f'CREATE SCHEMA "{city_schema}"; GRANT USAGE, CREATE ON SCHEMA "{city_schema}" TO {weak}'
        )
        assert (await publish(client, coordinator))["korat__shops"] == (3, 0)
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{city_schema}" CASCADE')
        await admin.close()


async def test_a_table_of_that_name_that_is_not_ours_is_a_409_and_nothing_is_written(
    client, shops, city_url, city_schema
):
    coordinator, _, _ = shops
    conn = await asyncpg.connect(city_url)
    try:
        await conn.execute(
            f'CREATE SCHEMA "{city_schema}"; CREATE TABLE "{city_schema}".korat__shops (id int)'
        )
        response = await client.post(PUBLISH, headers=coordinator.headers)
        assert response.status_code == 409, response.text
        assert "korat__shops" in response.json()["detail"]
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", city_schema)
        assert sorted(r[0] for r in tables) == ["_survey_publish", "korat__shops"]
        assert await conn.fetchval(f'SELECT count(*) FROM "{city_schema}"._survey_publish') == 0
    finally:
        await conn.close()


async def test_a_second_publish_at_once_is_a_409(client, shops, city_url):
    coordinator, _, _ = shops
    holder = await asyncpg.connect(city_url)
    try:
        assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", city_store.lock_key("korat"))
        response = await client.post(PUBLISH, headers=coordinator.headers)
        assert response.status_code == 409 and "right now" in response.json()["detail"]
    finally:
        await holder.close()
    assert (await publish(client, coordinator))["korat__shops"] == (3, 0)


async def test_a_connection_killed_mid_run_leaves_nothing_and_the_next_run_catches_up(
    client, shops, city_url, city_schema, monkeypatch
):
    coordinator, analyst, _ = shops
    copy = city_store.Target.copy

    async def killed(self: city_store.Target, table: str, columns: Any, rows: Any) -> None:
        await copy(self, table, columns, rows)
        await self.conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    monkeypatch.setattr(city_store.Target, "copy", killed)
    response = await client.post(PUBLISH, headers=coordinator.headers)
    assert response.status_code == 503, response.text
    conn = await asyncpg.connect(city_url)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", city_schema)
        assert [r[0] for r in tables] == ["_survey_publish"]
    finally:
        await conn.close()
    monkeypatch.setattr(city_store.Target, "copy", copy)
    assert (await publish(client, coordinator))["korat__shops"] == (3, 0)
    assert await matches_export(client, analyst, city_url, city_schema, "shops", pii=False) == 7


def test_the_city_schema_is_a_postgresql_name():
    assert load_settings({}).city_schema == "survey"
    assert load_settings({"SURVEY_CITY_SCHEMA": "gis"}).city_schema == "gis"
    with pytest.raises(SettingsError, match="63 bytes"):
        load_settings({"SURVEY_CITY_SCHEMA": "ก" * 22})
