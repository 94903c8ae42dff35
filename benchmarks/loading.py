"""Bulk-loading clean records straight into a real instance's `records` table, for the benchmarks that
need a million of them (changes, export, index) faster than intake would make them.

Each benchmark gives the answers (a SQL expression over the point `p`) and how to draw the points;
this makes the `INSERT ... SELECT` over Python-made points and their grid cells, one transaction per
chunk (as intake batches write them) on a few connections at once, so `change_seq` and `change_xid`
come from the columns' own defaults. Then VACUUM ANALYZE and a CHECKPOINT, as autovacuum would have,
and so the load's writes reach the disk before anything is timed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from sync.folding import CELL_M
from sync.grid import cell_key

Columns = list[list[Any]]
"""lat, lon, accuracy, cell x, cell y: one list each, as the INSERT's `unnest` takes them."""


def insert_sql(answers: str) -> str:
    """The INSERT of one chunk, with `answers` (SQL over `p.lat`, `p.lon`, `p.accuracy`) as each
    record's answers; columns left out (change_seq, change_xid, ...) take their defaults."""
    return f"""
INSERT INTO records (
    id, project_id, form_id, form_version, revision, status, answers, issues, lat, lon, accuracy,
    cell_x, cell_y, observations, content_hash, device_id, submission_uuid, created_by, updated_by,
    created_at, updated_at, observed_at
)
SELECT gen_random_uuid(), $1, $2, $3, 1, 'ok', {answers}, '[]', p.lat, p.lon, p.accuracy,
    p.cell_x, p.cell_y, 1, md5(random()::text) || md5(random()::text),
    'tablet-' || lpad(floor(random() * 50)::int::text, 2, '0'), gen_random_uuid()::text, $4, $4,
    now(), now(), timestamptz '2026-11-20 08:00+07' + floor(random() * 600)::int * interval '1 minute'
FROM unnest($5::float8[], $6::float8[], $7::float8[], $8::int8[], $9::int8[])
    AS p(lat, lon, accuracy, cell_x, cell_y)
"""


def columns_of(points: list[tuple[float, float]], rng: random.Random) -> Columns:
    """Points as the INSERT's columns, with a GPS accuracy each and their duplicate-search grid cells."""
    cells = [cell_key(lat, lon, CELL_M) for lat, lon in points]
    return [
        [lat for lat, _ in points],
        [lon for _, lon in points],
        [round(rng.uniform(2, 15), 1) for _ in points],
        [c[0] for c in cells],
        [c[1] for c in cells],
    ]


def korat_points(rng: random.Random, n: int) -> tuple[Columns, int]:
    """`n` points in a 10 km box around Korat's old city (all of them counted)."""
    points = [
        (round(14.92 + rng.random() * 0.09, 6), round(102.05 + rng.random() * 0.09, 6)) for _ in range(n)
    ]
    return columns_of(points, rng), n


async def load(
    dsn: str,
    *,
    project: str,
    form_key: str,
    version: str,
    insert: str,
    records: int,
    seed: int,
    points: Callable[[random.Random, int], tuple[Columns, int]] = korat_points,
    chunk: int = 500,
    loaders: int = 2,
    on_chunk: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """`records` more records of the form, made by the volunteer `volunteer@bench.example`; `points`
    draws each chunk's points and says how many of them to count (`counted`: those inside a box, say).
    `on_chunk(records loaded so far)` after each chunk. Returns the form's id, the counts and timings."""
    conn = await asyncpg.connect(dsn)
    try:
        project_id, form_id, user = await conn.fetchrow(
            "SELECT f.project_id, f.id, (SELECT id FROM users WHERE email = 'volunteer@bench.example') "
            "FROM forms f JOIN projects p ON p.id = f.project_id WHERE p.slug = $1 AND f.key = $2",
            project,
            form_key,
        )
    finally:
        await conn.close()
    starts = iter(range(0, records, chunk))
    done = counted = 0

    async def loader(n: int) -> None:
        nonlocal done, counted
        rng = random.Random(seed * 1000 + n)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET synchronous_commit = off")  # the same rows, fewer waits for the disk
            for start in starts:
                size = min(chunk, records - start)
                columns, inside = points(rng, size)
                await conn.execute(insert, project_id, form_id, version, user, *columns)  # autocommit
                done += size
                counted += inside
                if on_chunk is not None:
                    on_chunk(done)
        finally:
            await conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(loader(n) for n in range(loaders)))
    seconds = time.perf_counter() - began
    conn = await asyncpg.connect(dsn)
    try:
        settle_began = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE) records")
        await conn.execute("CHECKPOINT")
        settle = time.perf_counter() - settle_began
    finally:
        await conn.close()
    return {
        "form_id": form_id,
        "added": records,
        "counted": counted,
        "seconds": seconds,
        "settle_seconds": settle,
    }
