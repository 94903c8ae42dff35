"""Publish over HTTP into a real city database (this machine's PostgreSQL 15, with and without PostGIS):
tables read back with asyncpg and GDAL's ogrinfo, every row compared with the CSV export of its form."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import shutil
import subprocess
import uuid
import zipfile
from typing import Any

import asyncpg
import pytest

from survey_api.settings import Settings, SettingsError, load_settings
from survey_api.stores import city as city_store
from tests.factories import SYNC, batch, shop, submission

CITY_SERVER = "postgresql://postgres@127.0.0.1:5432"
SECRET = "pw-Secret-4711"
PUBLISH = "/api/v1/projects/korat/publish"
FORMS = "/api/v1/projects/korat/forms"
POLICY = {"radius_m": 25, "match_fields": ["shop_name"], "auto_merge_score": 0.85, "review_score": 0.6}

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
        pytest.skip(f"no PostgreSQL answers on 127.0.0.1:5432 as postgres ({type(exc).__name__})")
    names = {kind: f"survey_city_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("postgis", "plain")}
    for name in names.values():
        await admin.execute(f"CREATE DATABASE {name}")
    gis = await asyncpg.connect(f"{CITY_SERVER}/{names['postgis']}")
    try:
        await gis.execute("CREATE EXTENSION postgis")
    except asyncpg.PostgresError as exc:
        pytest.skip(f"PostGIS cannot be created on 127.0.0.1:5432: {exc}")
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

    if shutil.which("ogrinfo"):
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


def square(code: str, west: float) -> dict[str, Any]:
    ring = [[west, 14.90], [west + 0.01, 14.90], [west + 0.01, 14.91], [west, 14.91], [west, 14.90]]
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"code": code},
    }


INDICATORS = {
    "indicators": [
        {"key": "concrete", "label": {"th": "ทางเท้าคอนกรีต", "en": "Concrete sidewalk"}, "form": "sidewalk_audit",
         "aggregate": "share", "where": {"surface": "concrete"}, "direction": "higher_better", "weight": 2,
         "group": "society/safe", "normalization": "minmax"},
        {"key": "width", "label": "Mean width", "form": "sidewalk_audit", "aggregate": "mean", "field": "width_m",
         "direction": "higher_better", "weight": 1, "normalization": "minmax"},
    ],
}  # fmt: skip


@pytest.mark.parametrize("city_url", ["postgis", "plain"], indirect=True)
async def test_each_area_layer_is_a_table_of_the_index_with_its_polygons(
    client, field, city_url, city_schema
):
    coordinator, volunteer = field
    layer = {
        "type": "FeatureCollection",
        "features": [square("A", 102.00), square("B", 102.01), square("C", 102.02)],
    }
    assert (
        await client.put("/api/v1/projects/korat/areas/districts", json=layer, headers=coordinator.headers)
    ).is_success
    put = await client.put("/api/v1/projects/korat/indicators", json=INDICATORS, headers=coordinator.headers)
    assert put.status_code == 200, put.text

    async def push(*points: tuple[float, float, str, float]) -> None:
        items = [
            submission("sidewalk_audit", {"location": {"lat": lat, "lon": lon}, "surface": s, "width_m": w})
            for lon, lat, s, w in points
        ]
        response = await client.post(SYNC, json=batch(*items), headers=volunteer.headers)
        assert response.status_code == 200, response.text

    await push(
        (102.002, 14.902, "concrete", 1.0), (102.005, 14.905, "brick", 2.0), (102.015, 14.905, "brick", 3.0)
    )
    first = await publish(client, coordinator)
    assert first["korat__index__districts"] == (3, 0) and first["korat__sidewalk_audit"] == (3, 0)
    assert (await publish(client, coordinator))["korat__index__districts"] == (0, 0)

    index = await client.get("/api/v1/projects/korat/index/districts.csv", headers=coordinator.headers)
    expected = {r["code"]: r for r in csv.DictReader(io.StringIO(index.content.decode("utf-8-sig")))}
    rows = {r["code"]: r for r in await city_rows(city_url, city_schema, "korat__index__districts")}
    assert rows.keys() == expected.keys() == {"A", "B", "C"}
    for code, row in rows.items():
        for column in ("records", "concrete", "concrete_score", "width", "index", "rank"):
            assert same(expected[code][column], row[column]), (code, column)
        assert same(expected[code]["group:society/safe"], row["group__society/safe"])
    assert rows["A"]["records"] == 2 and rows["C"]["records"] == 0
    if "geom" in rows["A"]:
        dbname = city_url.rpartition("/")[2]
        done = await asyncio.to_thread(
            subprocess.run,
            ["ogrinfo", "-ro", "-so", f"PG:dbname={dbname} host=127.0.0.1 user=postgres schemas={city_schema}",
             "korat__index__districts"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert "Geometry: Multi Polygon" in done.stdout and "Feature Count: 3" in done.stdout
    else:
        assert json.loads(rows["A"]["geojson"])["type"] in ("Polygon", "MultiPolygon")

    await push((102.016, 14.906, "concrete", 5.0))
    again = await publish(client, coordinator)
    assert again["korat__index__districts"] == (3, 0) and again["korat__sidewalk_audit"] == (1, 0)
    rows = {r["code"]: r for r in await city_rows(city_url, city_schema, "korat__index__districts")}
    assert rows["B"]["records"] == 2


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


def test_the_city_schema_is_a_postgresql_name():
    assert load_settings({}).city_schema == "survey"
    assert load_settings({"SURVEY_CITY_SCHEMA": "gis"}).city_schema == "gis"
    with pytest.raises(SettingsError, match="63 bytes"):
        load_settings({"SURVEY_CITY_SCHEMA": "ก" * 22})
