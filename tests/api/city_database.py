"""What the publish tests share: a real city database (this machine's PostgreSQL 15, one database with
PostGIS and one without, fresh per test module), the app's settings pointing at it (a schema of its own
per test), the `shops` form and records, and the comparison of every city row with the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zipfile
from typing import Any

import asyncpg
import pytest

from survey_api.settings import Settings
from tests.factories import SYNC, batch, submission
from tests.tools import unavailable

__all__ = ["city_dbs", "city_schema", "city_url", "settings", "shops"]
"""The fixtures a publish test module takes with `from tests.api.city_database import *`."""

CITY_SERVER = "postgresql://postgres@127.0.0.1:5432"
SECRET = "pw-Secret-4711"
PUBLISH = "/api/v1/projects/korat/publish"
FORMS = "/api/v1/projects/korat/forms"
V1: dict[str, Any] = {
    "key": "shops",
    "version": "1",
    "title": {"th": "ร้านค้า", "en": "Shops"},
    "fields": [
        {"name": "location", "type": "geopoint"},
        {"name": "shop_name", "type": "text", "label": {"en": "Shop", "th": "ร้าน"}},
        {"name": "size", "type": "integer"},
        {"name": "kinds", "type": "select_multiple", "choices": "kinds"},
        {"name": "phone", "type": "text", "sensitive": True},
        {"name": "opened", "type": "date"},
        {
            "name": "visit",
            "type": "group",
            "fields": [
                {
                    "name": "staff",
                    "type": "repeat",
                    "fields": [
                        {"name": "who", "type": "text"},
                        {
                            "name": "shifts",
                            "type": "repeat",
                            "fields": [{"name": "hours", "type": "integer"}],
                        },
                    ],
                }
            ],
        },
    ],
    "choices": {"kinds": [{"value": "food", "label": {"en": "Food", "th": "อาหาร"}}, {"value": "repair"}]},
}


def v2() -> dict[str, Any]:
    form = json.loads(json.dumps(V1))
    form["version"] = "2"
    form["fields"][1] = {"name": "name", "type": "text", "renamed_from": "shop_name"}
    form["fields"][2] = {"name": "size", "type": "decimal"}
    form["fields"].append({"name": "rating", "type": "integer", "label": {"en": "Rating", "th": "คะแนน"}})
    return form


@pytest.fixture(scope="module")
async def city_dbs() -> Any:
    """Two fresh databases on this machine's PostgreSQL: one with PostGIS, one without."""
    try:
        admin = await asyncpg.connect(f"{CITY_SERVER}/postgres", timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable(f"no PostgreSQL answers on 127.0.0.1:5432 as postgres ({type(exc).__name__})")
    names = {kind: f"survey_city_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("postgis", "plain")}
    for name in names.values():
        await admin.execute(f"CREATE DATABASE {name}")
    gis = await asyncpg.connect(f"{CITY_SERVER}/{names['postgis']}")
    try:
        await gis.execute("CREATE EXTENSION postgis")
    except asyncpg.PostgresError as exc:
        unavailable(f"PostGIS cannot be created on 127.0.0.1:5432 (Debian's postgresql-15-postgis-3): {exc}")
    finally:
        await gis.close()
    weak = f"weak_{uuid.uuid4().hex[:8]}"  # may log in, may not create anything
    await admin.execute(f"CREATE ROLE {weak} LOGIN PASSWORD '{SECRET}'")
    urls = {kind: f"{CITY_SERVER}/{name}" for kind, name in names.items()}
    urls["weak"] = f"postgresql://{weak}:{SECRET}@127.0.0.1:5432/{names['postgis']}"
    try:
        yield urls
    finally:
        for name in names.values():
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"DROP ROLE IF EXISTS {weak}")
        await admin.close()


@pytest.fixture
def city_url(request: pytest.FixtureRequest, city_dbs: dict[str, str]) -> str | None:
    param = getattr(request, "param", "postgis")
    return city_dbs.get(param, param) if param else None


@pytest.fixture
def city_schema() -> str:
    return f"city_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def settings(tmp_path: Any, city_url: str | None, city_schema: str) -> Settings:
    return Settings(
        database_url="postgresql+asyncpg://unused",
        data_dir=tmp_path,
        max_body_mb=4.0,
        city_database_url=city_url,
        city_schema=city_schema,
    )


async def add_version(client: Any, who: Any, form: dict[str, Any]) -> None:
    created = await client.post(FORMS, json=form, headers=who.headers)
    assert created.status_code == 201, created.text
    published = await client.post(
        f"{FORMS}/{form['key']}/versions/{form['version']}/publish", headers=who.headers
    )
    assert published.status_code == 200, published.text


@pytest.fixture
async def shops(client: Any, member: Any) -> Any:
    """A coordinator (pii) and an analyst; `shops` v1 with three records, repeats nested in a group."""
    coordinator = await member("coordinator", pii=True)
    analyst = await member("analyst")
    await add_version(client, coordinator, V1)
    point = {"lat": 14.97, "lon": 102.1, "accuracy": 5.0}
    items = [
        submission(
            "shops",
            {
                "location": point,
                "shop_name": "ร้านข้าวแกง 'ป้าศรี'",
                "size": 12,
                "kinds": ["food", "repair"],
                "phone": "0812345678",
                "opened": "2020-01-31",
                "visit": {"staff": [{"who": "A", "shifts": [{"hours": 4}, {"hours": 5}]}, {"who": "B"}]},
            },
            version="1",
        ),
        submission("shops", {"location": {"lat": 14.98, "lon": 102.11}, "shop_name": "ร้านซ่อม"}, version="1"),
        submission("shops", {"shop_name": "no place", "size": 3}, version="1"),
    ]
    pushed = await client.post(SYNC, json=batch(*items), headers=coordinator.headers)
    assert pushed.status_code == 200, pushed.text
    ids = [r["record_id"] for r in pushed.json()["results"]]
    assert all(ids), pushed.text
    return coordinator, analyst, ids


async def publish(client: Any, who: Any) -> dict[str, tuple[int, int]]:
    response = await client.post(PUBLISH, headers=who.headers)
    assert response.status_code == 200, response.text
    return {t["name"]: (t["upserted"], t["deleted"]) for t in response.json()["tables"]}


async def city_rows(url: str, schema: str, table: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(f'SELECT * FROM "{schema}"."{table}"')]
    finally:
        await conn.close()


async def names_of(url: str, schema: str, form: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval(
            f'SELECT names FROM "{schema}"._survey_publish WHERE project = $1 AND form = $2', "korat", form
        )
        return json.loads(found)
    finally:
        await conn.close()


def same(text: str, value: Any) -> bool:
    """A CSV cell and a city value say the same thing."""
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text in (("1", "true") if value else ("0", "false"))
    if isinstance(value, int | float):
        return float(text) == float(value)
    if isinstance(value, list):
        return text == " ".join(value)
    if isinstance(value, dt.datetime):
        return dt.datetime.fromisoformat(text) == value
    if isinstance(value, dt.date):
        return dt.date.fromisoformat(text) == value
    if isinstance(value, dt.time):
        return dt.time.fromisoformat(text) == value
    return text == str(value)


async def matches_export(client: Any, who: Any, url: str, schema: str, form: str, pii: bool) -> int:
    """Every row and cell of the city tables against the CSV export (as `who` sees it); rows compared."""
    response = await client.get(f"{FORMS}/{form}/export.csv", headers=who.headers)
    assert response.status_code == 200, response.text
    files: dict[str, bytes] = {}
    if response.content[:2] == b"PK":
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        files = {n.removesuffix(".csv"): archive.read(n) for n in archive.namelist()}
    else:
        files = {form: response.content}
    compared = 0
    for path, table in (await names_of(url, schema, form)).items():
        exported = list(
            csv.DictReader(io.StringIO(files[path.rpartition("/")[2] or form].decode("utf-8-sig")))
        )
        key = ("_record_id",) if not path else ("_parent_record_id", "_path")
        by_key = {tuple(r[k] for k in key): r for r in exported}
        rows = await city_rows(url, schema, table["name"])
        columns = table["columns"]
        published = {tuple(str(r[columns[k]]) for k in key): r for r in rows}
        assert published.keys() == by_key.keys(), (path, published.keys(), by_key.keys())
        for k, row in published.items():
            for column, name in columns.items():
                if column == "_key":
                    continue
                if column == "_submitted_by" and not pii:
                    assert row[name] is None
                    continue
                assert same(by_key[k][column], row[name]), (path, column, by_key[k][column], row[name])
            compared += 1
    return compared
