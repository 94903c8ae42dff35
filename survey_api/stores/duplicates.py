"""SQL of duplicate handling: candidate lookup through the grid index, observations and review pairs."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables
from survey_api.stores.bulk import copy_in
from sync.folding import ObservationRow


class PairRow(msgspec.Struct, frozen=True, kw_only=True):
    """A review pair as intake writes it: undecided, or an automatic merge decided by "system"."""

    id: uuid.UUID
    project_id: uuid.UUID
    form_id: uuid.UUID
    record_id: uuid.UUID  # the newer record, flagged or merged
    candidate_id: uuid.UUID
    score: float
    breakdown: dict[str, Any]
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    kept_id: uuid.UUID | None
    snapshot: dict[str, Any] | None  # what undoing an automatic merge needs (`folding.snapshot`)


# One statement per batch: live records inside each item's search box, found through the grid-cell
# index (a probe is one cell the item's circle touches, with the circle's bounding box), plus live
# records without a location having the content hash of an item without one (a double tap of a
# located item has the very same point, so its own cell finds it).
# LATERAL with OFFSET 0 or LIMIT (which keep the planner from flattening it) makes every probe an index
# lookup whatever the planner's estimates: O(log n) per probe, never a scan of the form's records.
# A probe returns at most 100 records (a 100 m cell at a city's density holds a few): a pile of
# thousands at one spot (a mocked GPS) costs a bounded search, comparing the oldest 100 of it.
# With the policy's radius at most 1 km, an item makes at most 441 probes.
CANDIDATES = text(
    """
    WITH found AS (
        SELECT n.id
        FROM unnest(
            CAST(:forms AS uuid[]), CAST(:xs AS bigint[]), CAST(:ys AS bigint[]),
            CAST(:south AS float8[]), CAST(:north AS float8[]), CAST(:west AS float8[]), CAST(:east AS float8[])
        ) AS p(form_id, x, y, south, north, west, east)
        CROSS JOIN LATERAL (
            SELECT n.id FROM records n
            WHERE n.form_id = p.form_id AND n.cell_x = p.x AND n.cell_y = p.y AND n.merged_into IS NULL
                AND n.lat BETWEEN p.south AND p.north AND n.lon BETWEEN p.west AND p.east
            LIMIT 100
        ) n
        UNION
        SELECT n.id
        FROM unnest(CAST(:hash_forms AS uuid[]), CAST(:hashes AS text[])) AS h(form_id, content_hash)
        CROSS JOIN LATERAL (
            SELECT n.id FROM records n
            WHERE n.content_hash = h.content_hash AND n.form_id = h.form_id
                AND n.merged_into IS NULL AND n.lat IS NULL
            OFFSET 0
        ) n
    )
    SELECT r.id, r.form_id, r.lat, r.lon,
        (
            SELECT jsonb_object_agg(f.path, r.answers #> string_to_array(f.path, '/'))
            FROM unnest(CAST(:field_forms AS uuid[]), CAST(:field_paths AS text[])) AS f(form_id, path)
            WHERE f.form_id = r.form_id
        ),
        r.observed_at, r.device_id, r.content_hash, r.created_at, r.cell_x, r.cell_y
    FROM found CROSS JOIN LATERAL (SELECT * FROM records r WHERE r.id = found.id OFFSET 0) r
    """
)
# Scoring reads only the policy's match fields of a candidate: the query returns those, by path
# (`{"a/b": value}`; NULL when the form has none), not whole answers, which are most of a row's bytes.

CandidateRow = tuple[
    uuid.UUID,
    uuid.UUID,
    float | None,
    float | None,
    dict[str, Any] | None,
    datetime | None,
    str | None,
    str | None,
    datetime,
    int | None,
    int | None,
]
# (form id, cell_x, cell_y, south, north, west, east): one grid cell to search and the box within it.
Probe = tuple[uuid.UUID, int, int, float, float, float, float]


async def candidates(
    db: AsyncSession,
    probes: Iterable[Probe],
    hashes: Iterable[tuple[uuid.UUID, str]],
    fields: Mapping[uuid.UUID, Sequence[str]],
) -> list[CandidateRow]:
    """Live records inside the probes' boxes (through their cells), or with a (form, content hash);
    of their answers only `fields` (paths by form)."""
    probes, hashes = list(set(probes)), list(set(hashes))  # neighbours share cells; order is moot
    if not probes and not hashes:
        return []
    columns = list(zip(*probes, strict=True)) if probes else [[] for _ in range(7)]
    rows = await db.execute(
        CANDIDATES,
        {
            **dict(
                zip(("forms", "xs", "ys", "south", "north", "west", "east"), map(list, columns), strict=True)
            ),
            "hash_forms": [h[0] for h in hashes],
            "hashes": [h[1] for h in hashes],
            "field_forms": [form for form, paths in fields.items() for _ in paths],
            "field_paths": [path for paths in fields.values() for path in paths],
        },
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def observations(
    db: AsyncSession, holders: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[tables.Observation]]:
    """The observation rows each record holds (none for a record nothing was merged into)."""
    ids = sorted(set(holders))
    found: dict[uuid.UUID, list[tables.Observation]] = {i: [] for i in ids}
    if ids:
        rows = await db.scalars(
            select(tables.Observation)
            .where(tables.Observation.record_id.in_(ids))
            .order_by(tables.Observation.id)
        )
        for row in rows:
            found[row.record_id].append(row)
    return found


async def add_observations(db: AsyncSession, rows: list[ObservationRow]) -> None:
    if rows:
        await db.execute(insert(tables.Observation), [msgspec.structs.asdict(r) for r in rows])


async def move_observations(
    db: AsyncSession, holder: uuid.UUID, origins: list[uuid.UUID], to: uuid.UUID
) -> None:
    """Hand the observations that came from `origins` from one holder to another."""
    if origins:
        await db.execute(
            update(tables.Observation)
            .where(tables.Observation.record_id == holder, tables.Observation.origin_id.in_(origins))
            .values(record_id=to)
        )


async def drop_observations(db: AsyncSession, holder: uuid.UUID) -> None:
    """A record with nothing merged into it holds no observation rows; its answers are its own."""
    await db.execute(delete(tables.Observation).where(tables.Observation.record_id == holder))


async def add_pairs(db: AsyncSession, rows: list[PairRow]) -> None:
    """Review pairs and automatic merges of one batch, in one COPY."""
    await copy_in(db, tables.DuplicatePair.__table__, rows)  # type: ignore[arg-type]


async def pairs(
    db: AsyncSession,
    project_id: uuid.UUID,
    *,
    form_id: uuid.UUID | None,
    decided: bool | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tables.DuplicatePair]:
    query = select(tables.DuplicatePair).where(tables.DuplicatePair.project_id == project_id)
    if form_id is not None:
        query = query.where(tables.DuplicatePair.form_id == form_id)
    if decided is not None:
        column = tables.DuplicatePair.decision
        query = query.where(column.is_not(None) if decided else column.is_(None))
    if after is not None:
        query = query.where(
            or_(
                tables.DuplicatePair.created_at > after[0],
                and_(
                    tables.DuplicatePair.created_at == after[0],
                    tables.DuplicatePair.id > after[1],
                ),
            )
        )
    rows = await db.scalars(
        query.order_by(tables.DuplicatePair.created_at, tables.DuplicatePair.id).limit(limit)
    )
    return list(rows)


async def pair(db: AsyncSession, project_id: uuid.UUID, pair_id: uuid.UUID) -> tables.DuplicatePair | None:
    return await db.scalar(
        select(tables.DuplicatePair)
        .where(tables.DuplicatePair.id == pair_id, tables.DuplicatePair.project_id == project_id)
        .with_for_update()
    )


async def decide(db: AsyncSession, pair_id: uuid.UUID, **values: Any) -> None:
    await db.execute(update(tables.DuplicatePair).where(tables.DuplicatePair.id == pair_id).values(**values))


async def open_candidate(db: AsyncSession, record_id: uuid.UUID) -> uuid.UUID | None:
    """The candidate of the newest undecided pair flagging this record, if any."""
    return await db.scalar(
        select(tables.DuplicatePair.candidate_id)
        .where(tables.DuplicatePair.record_id == record_id, tables.DuplicatePair.decision.is_(None))
        .order_by(tables.DuplicatePair.created_at.desc(), tables.DuplicatePair.id)
        .limit(1)
    )


async def known_pairs(db: AsyncSession, record_ids: Iterable[uuid.UUID]) -> set[frozenset[str]]:
    """Every pair already proposed or decided for these records, either way round: never re-proposed."""
    ids = sorted(set(record_ids))
    if not ids:
        return set()
    rows = await db.execute(
        select(tables.DuplicatePair.record_id, tables.DuplicatePair.candidate_id).where(
            or_(tables.DuplicatePair.record_id.in_(ids), tables.DuplicatePair.candidate_id.in_(ids))
        )
    )
    return {frozenset((str(a), str(b))) for a, b in rows}


async def live_records(
    db: AsyncSession, form_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[tables.Record]:
    """A page of a form's live records in id order, for the rescan."""
    query = select(tables.Record).where(tables.Record.form_id == form_id, tables.Record.merged_into.is_(None))
    if after is not None:
        query = query.where(tables.Record.id > after)
    return list(await db.scalars(query.order_by(tables.Record.id).limit(limit)))


async def count_live(db: AsyncSession, form_id: uuid.UUID) -> int:
    found = await db.scalar(
        select(func.count())
        .select_from(tables.Record)
        .where(tables.Record.form_id == form_id, tables.Record.merged_into.is_(None))
    )
    return int(found or 0)


async def add_pair(db: AsyncSession, **values: Any) -> tables.DuplicatePair:
    """One pair, written at once (a rescan decides on it before its page ends)."""
    pair = tables.DuplicatePair(id=uuid.uuid4(), **values)
    db.add(pair)
    await db.flush()
    return pair
