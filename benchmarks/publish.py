"""Publish to a city database: records/s of a first, full publish and of an incremental one.

Makes two fresh databases on a PostgreSQL server (default this machine's, 127.0.0.1:5432, user
postgres): a survey database migrated to head, and a city database with PostGIS when the server has
it. Publishes a 32-field form (a geopoint, 12 texts, a third of them Thai, 5 integers, 5 decimals,
4 select_ones, 2 select_multiples of 5 options, a date, a datetime, a sensitive phone; a repeat of
two entries on every tenth record), loads `--records` records straight into `records` by SQL (as
`changes.py` does; status 'ok', a location each), VACUUM ANALYZE, then times, in this process,
`survey_api.publishing.run.publish` as the endpoint runs it:

1. the first publish (every record sent; tables, geometry and GiST index made),
2. a publish with nothing changed (0 upserted, 0 deleted),
3. `--changed` of the records edited (an UPDATE of their answers; the trigger moves their cursor) and
   a tenth as many merged away, then a publish: only those are sent.

The city table's rows are counted at the end. Wall time and this process's CPU time (its threads
included; PostgreSQL's apart) are reported, records/s from the wall time. One JSON object on stdout;
progress on stderr.

    python benchmarks/publish.py                        # 100k records, 1% changed, ~1 min
    python benchmarks/publish.py --records 10000 --changed 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from survey_api.db.engine import make_engine, migrate
from survey_api.db.session import make_sessionmaker, unit_of_work
from survey_api.publishing.run import Published, Target, publish
from survey_api.web.access import as_operator

PROJECT, FORM = "bench", "shops"
TEXTS = [f"note_{n}" for n in range(12)]
INTEGERS = [f"count_{n}" for n in range(5)]
DECIMALS = [f"measure_{n}" for n in range(5)]
SELECTS = [f"kind_{n}" for n in range(4)]
MULTIPLES = [f"uses_{n}" for n in range(2)]
CHOICES = ["concrete", "brick", "asphalt", "gravel", "none"]
WORDS = ["ร้านข้าวแกง", "ทางเท้า", "ตลาด", "north", "market", "lane", "road", "old", "new"]


def definition() -> dict[str, Any]:
    fields: list[dict[str, Any]] = [{"name": "location", "type": "geopoint"}]
    fields += [{"name": n, "type": "text", "label": {"th": f"ข้อความ {n}", "en": n}} for n in TEXTS]
    fields += [{"name": n, "type": "integer"} for n in INTEGERS]
    fields += [{"name": n, "type": "decimal"} for n in DECIMALS]
    fields += [{"name": n, "type": "select_one", "choices": "c"} for n in SELECTS]
    fields += [{"name": n, "type": "select_multiple", "choices": "c"} for n in MULTIPLES]
    fields += [{"name": "visited", "type": "date"}, {"name": "seen_at", "type": "datetime"}]
    fields += [{"name": "phone", "type": "text", "sensitive": True}]
    fields += [{"name": "trees", "type": "repeat", "fields": [{"name": "girth", "type": "integer"}]}]
    return {
        "key": FORM,
        "version": "1",
        "title": {"th": "ร้านค้า", "en": "Shops"},
        "fields": fields,
        "choices": {"c": [{"value": c} for c in CHOICES]},
    }


def answers_sql() -> str:
    words = "ARRAY[" + ", ".join(f"'{w}'" for w in WORDS) + "]"
    pick = f"({words})[1 + floor(random() * {len(WORDS)})::int]"
    choice = "(ARRAY['" + "', '".join(CHOICES) + f"'])[1 + floor(random() * {len(CHOICES)})::int]"
    parts = ["'location', jsonb_build_object('lat', p.lat, 'lon', p.lon, 'accuracy', 5.0)"]
    parts += [f"'{n}', {pick} || ' ' || {pick} || ' ' || g" for n in TEXTS]
    parts += [f"'{n}', floor(random() * 1000)::int" for n in INTEGERS]
    parts += [f"'{n}', round((random() * 100)::numeric, 2)" for n in DECIMALS]
    parts += [f"'{n}', {choice}" for n in SELECTS]
    parts += [f"'{n}', jsonb_build_array({choice}, {choice})" for n in MULTIPLES]
    parts += ["'visited', '2026-11-20'", "'seen_at', '2026-11-20T09:12:00+07:00'", "'phone', '0812345678'"]
    parts += [
        "'trees', CASE WHEN g % 10 = 0 THEN jsonb_build_array(jsonb_build_object('girth', 90),"
        " jsonb_build_object('girth', 120)) ELSE '[]'::jsonb END"
    ]
    return "jsonb_build_object(" + ", ".join(parts) + ")"


async def setup(admin_dsn: str, records: int) -> tuple[str, str, bool]:
    """(survey DSN, city DSN, PostGIS there): fresh databases, the form, the records."""
    suffix = uuid.uuid4().hex[:8]
    survey, city = f"bench_publish_{suffix}", f"bench_city_{suffix}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        for name in (survey, city):
            await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    base = admin_dsn.rpartition("/")[0]
    survey_dsn, city_dsn = f"{base}/{survey}", f"{base}/{city}"
    conn = await asyncpg.connect(city_dsn)
    try:
        await conn.execute("CREATE EXTENSION postgis")
        postgis = True
    except asyncpg.PostgresError:
        postgis = False
    finally:
        await conn.close()
    await asyncio.to_thread(migrate, survey_dsn.replace("postgresql://", "postgresql+asyncpg://"))
    conn = await asyncpg.connect(survey_dsn)
    try:
        user = await conn.fetchval(
            "INSERT INTO users (id, email, admin) VALUES (gen_random_uuid(), 'b@x', false) RETURNING id"
        )
        project = await conn.fetchval(
            "INSERT INTO projects (id, slug, name, timezone) VALUES (gen_random_uuid(), $1, 'Bench', 'Asia/Bangkok') RETURNING id",
            PROJECT,
        )
        form = await conn.fetchval(
            "INSERT INTO forms (id, project_id, key) VALUES (gen_random_uuid(), $1, $2) RETURNING id",
            project,
            FORM,
        )
        await conn.execute(
            "INSERT INTO form_versions (id, form_id, version, status, definition, hash, warnings, published_at)"
            " VALUES (gen_random_uuid(), $1, '1', 'published', $2::jsonb, 'h', '[]', now())",
            form,
            json.dumps(definition()),
        )
        step = 20_000
        for start in range(0, records, step):
            await conn.execute(
                "INSERT INTO records (id, project_id, form_id, form_version, revision, status, answers, issues,"
                " lat, lon, accuracy, observations, created_by, updated_by, created_at, updated_at)"
                f" SELECT gen_random_uuid(), $1, $2, '1', 1, 'ok', {answers_sql()}, '[]', p.lat, p.lon, 5.0, 1,"
                " $3, $3, now(), now() FROM (SELECT g, 14.92 + random() * 0.09 AS lat,"
                " 102.05 + random() * 0.09 AS lon FROM generate_series($4::int, $5::int) g) p",
                project,
                form,
                user,
                start,
                min(start + step, records) - 1,
            )
            print(f"loaded {min(start + step, records)} records", file=sys.stderr, flush=True)
        await conn.execute("VACUUM ANALYZE records")
    finally:
        await conn.close()
    return survey_dsn, city_dsn, postgis


async def timed(survey_dsn: str, city_dsn: str) -> tuple[float, float, Published]:
    engine = make_engine(survey_dsn.replace("postgresql://", "postgresql+asyncpg://"), pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as db:
            access = await as_operator(db, PROJECT)
            start, cpu = time.perf_counter(), time.process_time()
            published = await publish(db, access, Target(url=city_dsn))
            return time.perf_counter() - start, time.process_time() - cpu, published
    finally:
        await engine.dispose()


async def change(survey_dsn: str, share: float) -> tuple[int, int]:
    """`share` of the records edited and a tenth as many merged into another: (edited, merged)."""
    conn = await asyncpg.connect(survey_dsn)
    try:
        ids = await conn.fetch(
            "SELECT id FROM records ORDER BY random() LIMIT $1",
            int(share * 1.1 * await conn.fetchval("SELECT count(*) FROM records")),
        )
        edited, merged = ids[: int(len(ids) / 1.1)], ids[int(len(ids) / 1.1) :]
        await conn.execute(
            "UPDATE records SET answers = answers || jsonb_build_object('note_0', 'edited'), revision = revision + 1"
            " WHERE id = ANY($1::uuid[])",
            [r[0] for r in edited],
        )
        await conn.execute(
            "UPDATE records SET merged_into = $2, status = 'merged' WHERE id = ANY($1::uuid[])",
            [r[0] for r in merged],
            edited[0][0],
        )
        return len(edited), len(merged)
    finally:
        await conn.close()


def figures(seconds: float, cpu: float, published: Published) -> dict[str, Any]:
    main = published.tables[0]
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds_of_this_process": round(cpu, 3),
        "records_upserted": main.upserted,
        "records_deleted": main.deleted,
        "records_per_s": round(main.upserted / seconds) if main.upserted else None,
        "tables": {t.name: [t.upserted, t.deleted] for t in published.tables},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--keep", action="store_true", help="keep the two databases")
    args = parser.parse_args()
    survey_dsn, city_dsn, postgis = await setup(args.server, args.records)
    try:
        print("first publish…", file=sys.stderr, flush=True)
        full = figures(*await timed(survey_dsn, city_dsn))
        same = figures(*await timed(survey_dsn, city_dsn))
        edited, merged = await change(survey_dsn, args.changed)
        print(f"{edited} edited, {merged} merged away; incremental publish…", file=sys.stderr, flush=True)
        incremental = figures(*await timed(survey_dsn, city_dsn))
        conn = await asyncpg.connect(city_dsn)
        try:
            rows = await conn.fetchval(f'SELECT count(*) FROM survey."{PROJECT}__{FORM}"')
        finally:
            await conn.close()
        out = {
            "records": args.records,
            "postgis": postgis,
            "full": full,
            "unchanged": same,
            "changed": {"edited": edited, "merged_away": merged},
            "incremental": incremental,
            "city_rows_after": rows,
            "city_rows_expected": args.records - merged,
        }
        print(json.dumps(out, indent=2))
    finally:
        if not args.keep:
            admin = await asyncpg.connect(args.server)
            try:
                for dsn in (survey_dsn, city_dsn):
                    await admin.execute(f"DROP DATABASE IF EXISTS {dsn.rpartition('/')[2]} WITH (FORCE)")
            finally:
                await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
