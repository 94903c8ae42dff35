"""The change feed over HTTP at a million records (DESIGN.md: a page of 1,000 records in < 100 ms at 1M).

Starts the real `survey-api serve` (embedded PostgreSQL in a temp data dir unless `--database-url`),
sets up the 30-field form of `ingest.py` with a volunteer, pushes one real submission through the
sync endpoint, then bulk-loads `--records` records (that one included) into the schema the migrations
built: `INSERT ... SELECT` over Python-made points (with their grid cells), answers of every field
made by SQL, one transaction per 500 records on two connections, as intake batches write them, so
`change_seq` and `change_xid` come from the columns' own defaults (only `records` is filled: the
submissions log and revisions, which the feed never reads, stay empty). Checks a loaded record looks
like the pushed one, runs VACUUM ANALYZE (as autovacuum would have) and a CHECKPOINT, and times
`--pages` pages of `GET /api/v1/projects/{p}/sync/changes?limit=1000` on one keep-alive connection
as the volunteer: walking from the start with `next`, then from the cursor a tablet holds when
`--pages` pages remain (read from the database, encoded as the server encodes it) to the end.
One JSON object on stdout.

    python benchmarks/changes.py                      # 1M records, 1-1.5 min on the 2-core machine
    python benchmarks/changes.py --records 100000 --pages 20
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shlex
import statistics
import sys
import time
from typing import Any

import asyncpg
import loading
import msgspec
from harness import (
    Connection,
    HarnessError,
    Instance,
    asyncpg_dsn,
    cpu_seconds,
    log,
    percentile,
    postgres_pids,
)
from ingest import (
    CHOICES,
    DATES,
    DECIMALS,
    FORM_KEY,
    INTEGERS,
    PROJECT,
    SELECTS,
    SYNC,
    TEXTS,
    VERSION,
    WORDS,
    batch_body,
    set_up,
    submission,
)

PAGE = 1000  # the feed's largest page, the one DESIGN.md's target names
CHUNK = 500  # records per loading transaction: an intake batch
LOADERS = 2  # connections loading at once, one per core
MAX_RECORDS = 2_000_000
CHANGES = f"/api/v1/projects/{PROJECT}/sync/changes"
TARGET_MS = 100.0


def bounded(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        value = int(text.replace("_", "").replace(",", ""))
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}")
        return value

    return parse


def answers_sql() -> str:
    """A jsonb of every field of the form, each value random as a volunteer's would be (Thai texts)."""
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    choices = "ARRAY[" + ",".join(f"'{c}'" for c in CHOICES) + "]"

    def pick(array: str, n: int) -> str:
        return f"({array})[1 + floor(random() * {n})::int]"

    location = "'lat', p.lat, 'lon', p.lon, 'alt', null, 'accuracy', round(p.accuracy::numeric, 1)"
    parts = [f"'location', jsonb_build_object({location})"]
    text = " || ' ' || ".join([pick(words, len(WORDS))] * 3) + " || ' ' || floor(random() * 10000)::int"
    parts += [f"'{n}', {text}" for n in TEXTS]
    parts += [f"'{n}', {pick(choices, len(CHOICES))}" for n in SELECTS]
    parts += [f"'{n}', round((random() * 100)::numeric, 2)" for n in DECIMALS]
    parts += [f"'{n}', floor(random() * 500)::int" for n in INTEGERS]
    parts += [f"'{n}', to_char(date '2026-01-01' + floor(random() * 330)::int, 'YYYY-MM-DD')" for n in DATES]
    return "jsonb_build_object(" + ", ".join(parts) + ")"


INSERT = loading.insert_sql(answers_sql())


async def load(dsn: str, records: int, seed: int) -> dict[str, Any]:
    """`records` new records, one transaction per CHUNK on LOADERS connections; VACUUM ANALYZE, CHECKPOINT."""
    every = records // 10 // CHUNK * CHUNK or CHUNK

    def progress(done: int) -> None:
        if done % every == 0:
            log(f"loaded {done:,} records")

    loaded = await loading.load(
        dsn, project=PROJECT, form_key=FORM_KEY, version=VERSION, insert=INSERT, records=records,
        seed=seed, chunk=CHUNK, loaders=LOADERS, on_chunk=progress,
    )  # fmt: skip
    conn = await asyncpg.connect(dsn)
    try:
        table_mb, index_mb, transactions = await conn.fetchrow(
            "SELECT pg_table_size('records') / 1048576.0, pg_indexes_size('records') / 1048576.0,"
            " count(DISTINCT change_xid) FROM records"
        )
        shared_buffers = await conn.fetchval("SHOW shared_buffers")
    finally:
        await conn.close()
    seconds = loaded["seconds"]
    return {
        "records": records,
        "seconds": round(seconds, 1),
        "records_per_s": round(records / seconds),
        "transactions": transactions,
        "vacuum_analyze_checkpoint_seconds": round(loaded["settle_seconds"], 1),
        "table_mb": round(float(table_mb)),
        "indexes_mb": round(float(index_mb)),
        "shared_buffers": shared_buffers,
    }


async def cursor_before_last(dsn: str, pages: int) -> tuple[str, int]:
    """The `next` a tablet holds when `pages` pages of the feed remain, and how many records remain."""
    conn = await asyncpg.connect(dsn)
    try:
        project = await conn.fetchval("SELECT id FROM projects WHERE slug = $1", PROJECT)
        total = await conn.fetchval("SELECT count(*) FROM records WHERE project_id = $1", project)
        remain = min(total, pages * PAGE)
        if remain == total:
            return "", total
        xid, seq = await conn.fetchrow(
            "SELECT change_xid, change_seq FROM records WHERE project_id = $1"
            " ORDER BY change_xid, change_seq OFFSET $2 LIMIT 1",
            project,
            total - remain - 1,
        )
    finally:
        await conn.close()
    # As `survey_api.web.paging.Cursor.encode` writes it: base64url of the JSON array, no padding.
    return base64.urlsafe_b64encode(msgspec.json.encode([xid, seq])).decode().rstrip("="), remain


async def walk(
    url: str, token: str, since: str, pages: int | None, form: str | None, watched: dict[str, list[int]]
) -> dict[str, Any]:
    """Follow `next` from `since` for `pages` pages (None: to the end); each page's time and size, and
    the CPU the `watched` processes (with their descendants) spent per page, whatever the neighbours did
    to wall time on this shared machine."""
    api = Connection(url, token)
    cpu_before = {name: cpu_seconds(pids) for name, pids in watched.items()}
    times: list[float] = []
    sizes: list[int] = []
    items = 0
    more = True
    try:
        while more and (pages is None or len(times) < pages):
            query = (
                f"?limit={PAGE}" + (f"&since={since}" if since else "") + (f"&form={form}" if form else "")
            )
            began = time.perf_counter()
            status, body = await api.get(CHANGES + query)
            times.append(time.perf_counter() - began)
            if status != 200:
                raise HarnessError(f"GET {CHANGES}{query}: HTTP {status}: {body[:2000]!r}")
            page = msgspec.json.decode(body)
            items += len(page["items"])
            sizes.append(len(body))
            since, more = page["next"], page["more"]
    finally:
        await api.close()
    cpu_after = {name: cpu_seconds(pids) for name, pids in watched.items()}
    return {
        "pages": len(times),
        "records": items,
        "more_after": more,
        "page_ms": {
            "p50": round(1000 * statistics.median(times), 1),
            "p95": round(1000 * percentile(times, 0.95), 1),
            "max": round(1000 * max(times), 1),
            "mean": round(1000 * statistics.fmean(times), 1),
        },
        "page_kb_mean": round(statistics.fmean(sizes) / 1024, 1),
        "cpu_ms_per_page": {
            name: round(1000 * (after - before) / len(times), 1)
            for name, before in cpu_before.items()
            if before is not None and (after := cpu_after[name]) is not None
        },
        "times": times,
    }


def same_shape(real: dict[str, Any], loaded: dict[str, Any]) -> None:
    """A loaded record must look like one intake wrote: the same fields, each of the same JSON type."""

    def shape(answers: dict[str, Any]) -> dict[str, Any]:
        return {k: sorted(v) if isinstance(v, dict) else type(v).__name__ for k, v in answers.items()}

    if shape(real["answers"]) != shape(loaded["answers"]):
        raise HarnessError(f"loaded answers differ from intake's:\n{real['answers']}\n{loaded['answers']}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--records", type=bounded(PAGE, MAX_RECORDS), default=1_000_000, help="records in the feed"
    )
    parser.add_argument(
        "--pages", type=bounded(1, 1000), default=100, help="pages timed from the start, and to the end"
    )
    parser.add_argument("--form", help="also filter the feed by this form (`form=`); it holds every record")
    parser.add_argument("--database-url", help="an empty PostgreSQL database; default: embedded, temp dir")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, serve.stderr)")
    args = parser.parse_args()

    command = shlex.join(["python", *sys.argv])
    figures: dict[str, Any] = {
        "benchmark": "changes",
        "command": command,
        "parameters": {k: v for k, v in vars(args).items() if k != "database_url"},
        "target": f"a page of {PAGE:,} records in < {TARGET_MS:g} ms at 1M records",
    }
    began = time.perf_counter()
    instance = Instance(database_url=args.database_url, prefix="survey-changes-")
    try:
        log(f"data dir {instance.root}; migrating and starting the server ...")
        instance.run("migrate")
        server = instance.serve().wait_ready(90)
        token = set_up(instance, server)
        with server.client(token, timeout=60) as api:
            body = batch_body([submission(random.Random(args.seed))], "tablet-real")
            pushed = server.ok(api.post(SYNC, content=body, headers={"Content-Type": "application/json"}))
            assert pushed["results"][0]["status"] == "accepted", pushed
        dsn = asyncpg_dsn(instance.database_url())
        log(f"loading {args.records - 1:,} records ...")
        figures["load"] = asyncio.run(load(dsn, args.records - 1, args.seed))
        figures["load"]["records"] += 1
        log(f"load: {figures['load']}")
        with server.client(token, timeout=60) as api:
            first = server.ok(api.get(CHANGES, params={"limit": 2}))["items"]
        same_shape(*first)

        watched = {"server": [server.process.pid], "postgres": postgres_pids(instance)}
        figures["load_average_1m_before"] = round(os.getloadavg()[0], 2)
        warm = asyncio.run(walk(server.url, token, "", 2, args.form, watched))  # connections, caches, plans
        start = asyncio.run(walk(server.url, token, "", args.pages, args.form, watched))
        log(f"from the start: {start['page_ms']}")
        since, remain = asyncio.run(cursor_before_last(dsn, args.pages))
        end = asyncio.run(walk(server.url, token, since, None, args.form, watched))
        figures["load_average_1m_after"] = round(os.getloadavg()[0], 2)
        log(f"to the end: {end['page_ms']}")
        if end["records"] != remain or end["more_after"]:
            raise HarnessError(f"the walk to the end read {end['records']} records, not {remain}")
        times = start.pop("times") + end.pop("times")
        figures["warm_up_pages_ms"] = [round(1000 * t, 1) for t in warm["times"]]
        figures["from_start"] = start
        figures["to_end"] = end
        figures["all_timed"] = {
            "pages": len(times),
            "p50_ms": round(1000 * statistics.median(times), 1),
            "p95_ms": round(1000 * percentile(times, 0.95), 1),
            "max_ms": round(1000 * max(times), 1),
            "records": figures["load"]["records"],
            "met": percentile(times, 0.95) * 1000 < TARGET_MS,
        }
        figures["total_seconds"] = round(time.perf_counter() - began, 1)
    finally:
        instance.teardown(keep=args.keep)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
