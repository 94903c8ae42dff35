"""Intake throughput end to end over HTTP, against a bare COPY of the same rows.

Starts the real `survey-api serve` as a subprocess (embedded PostgreSQL in a temp data dir unless
`--database-url` is given), publishes a 30-field form, preloads `--preload` records through the sync
endpoint, runs VACUUM ANALYZE (as autovacuum would have; `--no-vacuum` skips it), then times fresh
`--batch-size`-item batches pushed by `--concurrency` keep-alive clients: submissions/s,
p50/p95/max batch latency, the latency of `GET /health` asked meanwhile, and CPU per batch of the
server (with its helper processes) and of PostgreSQL (from /proc). Then writes the same rows with
asyncpg's `copy_records_to_table` into a scratch table, for comparison. One JSON object on stdout;
progress on stderr.

    python benchmarks/ingest.py --batches 40 --preload 100000
    python benchmarks/ingest.py --no-vacuum                 # measured right after the bulk preload
    python benchmarks/ingest.py --intake-processes 0        # batches judged in the server process
    python benchmarks/ingest.py --workers 2 --intake-processes 0 --reconnect  # two server processes
    python benchmarks/ingest.py --intake-processes 0 --profile /tmp/serve.prof  # under cProfile
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from harness import Connection, Instance, Server, asyncpg_dsn, cpu_seconds, log, percentile, postgres_pids

PROJECT = "bench"
FORM_KEY = "street_audit"
VERSION = "v1"
SYNC = f"/api/v1/projects/{PROJECT}/sync"
TEXTS = [f"text_{n}" for n in range(8)]
SELECTS = [f"choice_{n}" for n in range(7)]
DECIMALS = [f"decimal_{n}" for n in range(6)]
INTEGERS = [f"integer_{n}" for n in range(5)]
DATES = [f"date_{n}" for n in range(3)]
CHOICES = ["concrete", "brick", "asphalt", "gravel", "none"]
WORDS = "ร้าน ข้าว แกง ป้า ศรี ก๋วยเตี๋ยว ตลาด ซอย ถนน มิตรภาพ ชุมชน วัด โรงเรียน shop market lane".split()  # noqa: SIM905


def form_definition() -> dict[str, Any]:
    """A 30-field form: a geopoint, 8 texts, 7 select_ones, 6 decimals, 5 integers, 3 dates."""
    fields: list[dict[str, Any]] = [{"name": "location", "type": "geopoint", "required": True}]
    fields += [{"name": n, "type": "text"} for n in TEXTS]
    fields += [{"name": n, "type": "select_one", "choices": "surface"} for n in SELECTS]
    fields += [{"name": n, "type": "decimal", "constraint": ". >= 0 and . <= 1000"} for n in DECIMALS]
    fields += [{"name": n, "type": "integer"} for n in INTEGERS]
    fields += [{"name": n, "type": "date"} for n in DATES]
    assert len(fields) == 30
    return {
        "key": FORM_KEY,
        "version": VERSION,
        "title": {"th": "สำรวจถนน", "en": "Street audit"},
        "fields": fields,
        "choices": {"surface": [{"value": c} for c in CHOICES]},
        "dedup": {
            "radius_m": 25,
            "match_fields": ["text_0"],
        },  # duplicate detection on, as DESIGN.md's target says
    }


def submission(rng: random.Random) -> dict[str, Any]:
    """A fresh, valid 30-field submission somewhere in a 10 km box around Korat's old city."""
    answers: dict[str, Any] = {
        "location": {
            "lat": round(14.92 + rng.random() * 0.09, 6),
            "lon": round(102.05 + rng.random() * 0.09, 6),
            "accuracy": round(rng.uniform(2, 15), 1),
        }
    }
    answers |= {n: " ".join(rng.choices(WORDS, k=3)) + f" {rng.randrange(10_000)}" for n in TEXTS}
    answers |= {n: rng.choice(CHOICES) for n in SELECTS}
    answers |= {n: round(rng.uniform(0, 100), 2) for n in DECIMALS}
    answers |= {n: rng.randrange(0, 500) for n in INTEGERS}
    answers |= {n: (dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(330))).isoformat() for n in DATES}
    minute = rng.randrange(600)
    return {
        "uuid": str(uuid.uuid4()),
        "form": FORM_KEY,
        "version": VERSION,
        "record_id": None,
        "base_revision": None,
        "started_at": f"2026-11-20T{8 + minute // 60:02d}:{minute % 60:02d}:00+07:00",
        "ended_at": f"2026-11-20T{8 + minute // 60:02d}:{minute % 60:02d}:45+07:00",
        "answers": answers,
    }


def batch_body(items: list[dict[str, Any]], device: str) -> bytes:
    return msgspec.json.encode(
        {"device_id": device, "sent_at": "2026-11-20T17:00:00+07:00", "submissions": items}
    )


def set_up(instance: Instance, server: Server) -> str:
    """A project, the form published, and a volunteer's token."""
    admin = instance.create_admin("admin@bench.example")
    with server.client(admin, timeout=60) as api:
        server.ok(api.post("/api/v1/projects", json={"slug": PROJECT, "name": "Benchmark"}))
        server.ok(api.post(f"/api/v1/projects/{PROJECT}/forms", json=form_definition()))
        server.ok(api.post(f"/api/v1/projects/{PROJECT}/forms/{FORM_KEY}/versions/{VERSION}/publish"))
        volunteer = server.ok(
            api.post("/api/v1/users", json={"email": "volunteer@bench.example", "name": "V"})
        )
        server.ok(
            api.put(f"/api/v1/projects/{PROJECT}/members/{volunteer['id']}", json={"role": "volunteer"})
        )
    return volunteer["token"]


async def push_batches(
    url: str,
    token: str,
    bodies: list[bytes],
    concurrency: int,
    label: str,
    reconnect: bool = False,
    probes: list[float] | None = None,
) -> tuple[float, list[float], dict[str, int]]:
    """Push every body with `concurrency` clients; wall time, per-batch latencies, status counts.

    With `probes`, one more client asks `GET /health` (a query of the database) every 50 ms meanwhile
    and appends each answer's latency: what other requests wait while batches are judged.
    """
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for pair in enumerate(bodies):
        queue.put_nowait(pair)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    done = 0

    async def worker() -> None:
        nonlocal done
        api = Connection(url, token)
        try:
            while not queue.empty():
                _, body = queue.get_nowait()
                began = time.perf_counter()
                status, content = await api.post(SYNC, body)
                if reconnect:  # as a tablet does, syncing now and then: a new connection each time
                    await api.close()
                    api = Connection(url, token)
                latencies.append(time.perf_counter() - began)
                if status != 200:
                    raise SystemExit(f"{label}: HTTP {status}: {content[:2000]!r}")
                for result in msgspec.json.decode(content)["results"]:
                    statuses[result["status"]] = statuses.get(result["status"], 0) + 1
                done += 1
                if done % max(1, len(bodies) // 10) == 0:
                    log(f"{label}: {done}/{len(bodies)} batches")
        finally:
            await api.close()

    async def probe() -> None:
        api = Connection(url, token)
        try:
            while not queue.empty():
                began = time.perf_counter()
                status, content = await api.request("GET", "/health")
                if status != 200:
                    raise SystemExit(f"health: HTTP {status}: {content[:2000]!r}")
                if probes is not None:
                    probes.append(time.perf_counter() - began)
                await asyncio.sleep(0.05)
        finally:
            await api.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)), *([probe()] if probes is not None else []))
    return time.perf_counter() - began, latencies, statuses


def make_bodies(
    rng: random.Random, count: int, size: int, device: str
) -> tuple[list[bytes], list[list[dict]]]:
    batches = []
    for _ in range(count):
        batches.append([submission(rng) for _ in range(size)])
    return [batch_body(b, device) for b in batches], batches


def copy_rows(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """One typed row per submission: uuid, the point, the 29 other fields, and the raw answers."""
    rows = []
    for item in items:
        a = item["answers"]
        loc = a["location"]
        rows.append(
            (
                uuid.UUID(item["uuid"]),
                loc["lat"],
                loc["lon"],
                loc["accuracy"],
                *(a[n] for n in TEXTS),
                *(a[n] for n in SELECTS),
                *(float(a[n]) for n in DECIMALS),
                *(a[n] for n in INTEGERS),
                *(dt.date.fromisoformat(a[n]) for n in DATES),
                msgspec.json.encode(a).decode(),
            )
        )
    return rows


async def bare_copy(dsn: str, items: list[dict[str, Any]], size: int) -> dict[str, Any]:
    columns = (
        ["uuid uuid", "lat float8", "lon float8", "accuracy float8"]
        + [f"{n} text" for n in TEXTS + SELECTS]
        + [f"{n} float8" for n in DECIMALS]
        + [f"{n} int8" for n in INTEGERS]
        + [f"{n} date" for n in DATES]
        + ["answers jsonb"]
    )
    names = [c.split()[0] for c in columns]
    rows = copy_rows(items)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_copy_scratch")
        await conn.execute(f"CREATE TABLE bench_copy_scratch ({', '.join(columns)})")
        began = time.perf_counter()
        await conn.copy_records_to_table("bench_copy_scratch", records=rows, columns=names)
        one = time.perf_counter() - began
        await conn.execute("TRUNCATE bench_copy_scratch")
        began = time.perf_counter()
        for start in range(0, len(rows), size):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "bench_copy_scratch", records=rows[start : start + size], columns=names
                )
        chunked = time.perf_counter() - began
        await conn.execute("DROP TABLE bench_copy_scratch")
    finally:
        await conn.close()
    return {
        "rows": len(rows),
        "columns": len(names),
        "one_copy_rows_per_s": round(len(rows) / one),
        f"copy_per_{size}_rows_per_s": round(len(rows) / chunked),
    }


async def wal_totals(dsn: str) -> dict[str, int]:
    """WAL written so far by the whole server (pg_stat_wal): records, full-page images, bytes."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT wal_records, wal_fpi, wal_bytes::bigint FROM pg_stat_wal")
    finally:
        await conn.close()
    return dict(row)


async def vacuum(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=40, help="measured batches (default 40)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--preload", type=int, default=100_000, help="records loaded before measuring")
    parser.add_argument("--preload-batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2, help="clients pushing at once")
    parser.add_argument("--workers", type=int, default=1, help="`serve --workers` (default 1)")
    parser.add_argument(
        "--intake-processes",
        type=int,
        help="the server's SURVEY_INTAKE_PROCESSES (default: unset, one helper per core)",
    )
    parser.add_argument("--database-url", help="an empty PostgreSQL database; default: embedded, temp dir")
    parser.add_argument("--profile", help="run the server under cProfile and write its stats here")
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="measure right after the preload, before any VACUUM (default: VACUUM ANALYZE first)",
    )
    parser.add_argument(
        "--reconnect", action="store_true", help="a new connection per batch (default: keep-alive)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, serve.stderr)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    env = {"SURVEY_MAX_BODY_MB": "64"}
    if args.intake_processes is not None:
        env["SURVEY_INTAKE_PROCESSES"] = str(args.intake_processes)
    instance = Instance(database_url=args.database_url, env=env, prefix="survey-bench-")
    figures: dict[str, Any] = {"parameters": {k: v for k, v in vars(args).items()}}
    server: Server | None = None
    try:
        log(f"data dir {instance.root}; creating the database ...")
        begun = time.perf_counter()
        token_setup = time.perf_counter()
        instance.run("migrate")
        server = instance.serve("--workers", str(args.workers), profile=args.profile).wait_ready(90)
        token = set_up(instance, server)
        log(f"server up on {server.url} in {time.perf_counter() - token_setup:.1f} s")
        dsn = asyncpg_dsn(instance.database_url())

        if args.preload:
            size = args.preload_batch_size
            count = -(-args.preload // size)
            log(f"preloading {args.preload} records in {count} batches of {size} ...")
            preload_rng = random.Random(args.seed + 1)
            wall, lat, statuses = 0.0, [], {}
            for start in range(0, count, 20):  # generate in slices so memory stays small
                n = min(20, count - start)
                bodies, _ = make_bodies(preload_rng, n, size, "preload")
                if start + n == count and args.preload % size:
                    bodies[-1] = batch_body(
                        msgspec.json.decode(bodies[-1])["submissions"][: args.preload % size], "preload"
                    )
                w, la, st = asyncio.run(
                    push_batches(server.url, token, bodies, max(2, args.concurrency), "preload")
                )
                wall += w
                lat += la
                for k, v in st.items():
                    statuses[k] = statuses.get(k, 0) + v
            figures["preload"] = {
                "records": sum(statuses.values()),
                "statuses": statuses,
                "seconds": round(wall, 1),
                "submissions_per_s": round(sum(statuses.values()) / wall),
            }
            log(f"preload: {figures['preload']}")
            if not args.no_vacuum:
                # A database that came to hold 100k records over weeks has been through autovacuum
                # (PostgreSQL vacuums an insert-only table each time it grows by 20%); the preload
                # took seconds. Without it, every index-only probe of a duplicate lookup also reads
                # the table rows (the visibility map is not set yet).
                began_vacuum = time.perf_counter()
                asyncio.run(vacuum(dsn))
                log(f"VACUUM ANALYZE after the preload: {time.perf_counter() - began_vacuum:.1f} s")

        bodies, batches = make_bodies(rng, args.batches, args.batch_size, "tablet-bench")
        log(f"measuring {args.batches} batches of {args.batch_size}, {args.concurrency} at once ...")
        watched = {"server": [server.process.pid], "postgres": postgres_pids(instance)}
        processes = {name: (pids, True) for name, pids in watched.items()}
        processes["server_process"] = (watched["server"], False)  # without its helpers
        wal_before = asyncio.run(wal_totals(dsn))
        cpu_before = {name: cpu_seconds(*spec) for name, spec in processes.items()}
        probes: list[float] = []
        wall, latencies, statuses = asyncio.run(
            push_batches(server.url, token, bodies, args.concurrency, "measure", args.reconnect, probes)
        )
        cpu_after = {name: cpu_seconds(*spec) for name, spec in processes.items()}
        wal_after = asyncio.run(wal_totals(dsn))
        total = sum(statuses.values())
        figures["ingest"] = {
            "submissions": total,
            "statuses": statuses,
            "seconds": round(wall, 2),
            "submissions_per_s": round(total / wall),
            "batch_latency_ms": {
                "p50": round(1000 * statistics.median(latencies), 1),
                "p95": round(1000 * percentile(latencies, 0.95), 1),
                "max": round(1000 * max(latencies), 1),
                "mean": round(1000 * statistics.fmean(latencies), 1),
            },
            # GET /health sent every 50 ms meanwhile: how long other requests wait behind batches
            "health_latency_ms": {
                "count": len(probes),
                "p50": round(1000 * statistics.median(probes), 1),
                "p95": round(1000 * percentile(probes, 0.95), 1),
                "max": round(1000 * max(probes), 1),
            },
            "request_body_kb_mean": round(statistics.fmean(len(b) for b in bodies) / 1024, 1),
            # CPU per batch, whatever the machine's neighbours do to wall time ("postgres": every
            # process of that name when the server is given by URL)
            "wal_per_batch": {  # everything PostgreSQL wrote meanwhile, /health included
                "records": round((wal_after["wal_records"] - wal_before["wal_records"]) / args.batches),
                "full_page_images": round((wal_after["wal_fpi"] - wal_before["wal_fpi"]) / args.batches),
                "kb": round((wal_after["wal_bytes"] - wal_before["wal_bytes"]) / args.batches / 1024),
            },
            "cpu_ms_per_batch": {
                name: round(1000 * (after - before) / args.batches, 1)  # type: ignore[operator]
                for name, before in cpu_before.items()
                if before is not None and (after := cpu_after[name]) is not None
            },
        }
        log(f"ingest: {figures['ingest']}")

        log("bare COPY of the same rows ...")
        items = [i for b in batches for i in b]
        figures["copy"] = asyncio.run(bare_copy(dsn, items, args.batch_size))
        best_copy = max(v for k, v in figures["copy"].items() if k.endswith("rows_per_s"))
        figures["copy"]["ingest_vs_copy"] = round(figures["ingest"]["submissions_per_s"] / best_copy, 3)
        log(f"copy: {figures['copy']}")
        figures["total_seconds"] = round(time.perf_counter() - begun, 1)
    finally:
        if server is not None:
            server.stop()  # SIGTERM: uvicorn shuts down, SystemExit unwinds, cProfile writes its file
        instance.teardown(keep=args.keep)
        if args.profile:
            log(f"profile written to {args.profile}" if Path(args.profile).exists() else "no profile written")
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
