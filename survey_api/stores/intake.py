"""SQL of the intake path: bulk statements only, a constant number of round trips per batch."""

from __future__ import annotations

import functools
import uuid
from typing import Any

import msgspec
from sqlalchemy import Table, func, select, text, tuple_, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api import tables

DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


async def published_versions(
    db: AsyncSession, project_id: uuid.UUID, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[tables.Form, tables.FormVersion]]:
    """The published versions a batch names, by (form key, version)."""
    if not keys:
        return {}
    rows = await db.execute(
        select(tables.Form, tables.FormVersion)
        .join(tables.FormVersion, tables.FormVersion.form_id == tables.Form.id)
        .where(
            tables.Form.project_id == project_id,
            tables.FormVersion.status == "published",
            tuple_(tables.Form.key, tables.FormVersion.version).in_(list(keys)),
        )
    )
    return {(f.key, v.version): (f, v) for f, v in rows}


async def earlier(db: AsyncSession, uuids: list[str]) -> dict[str, tuple[str | None, dict[str, Any] | None]]:
    """uuid -> (content hash, first result) of submissions received before."""
    if not uuids:
        return {}
    rows = await db.execute(
        select(tables.Submission.uuid, tables.Submission.content_hash, tables.Submission.result).where(
            tables.Submission.uuid.in_(uuids)
        )
    )
    return {u: (h, r) for u, h, r in rows}


async def log(db: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Append items to the log with their outcomes; returns how many uuids they took.

    A uuid logged meanwhile by a concurrent batch is skipped (after waiting for that batch to commit),
    so fewer uuids come back than were asked for. Rows go in uuid order: two batches sharing uuids
    wait on each other in one direction only (no deadlock).
    """
    if not rows:
        return 0
    taken = await bulk_insert(
        db,
        tables.Submission.__table__,  # type: ignore[arg-type]
        rows,
        order_by="uuid",
        suffix="ON CONFLICT (uuid) DO NOTHING RETURNING uuid",
    )
    return sum(1 for (u,) in taken if u is not None)


async def heads(db: AsyncSession, record_ids: list[uuid.UUID]) -> dict[uuid.UUID, tables.Record]:
    """Records about to change (edits, folds, decisions), locked in id order: a fixed order cannot deadlock."""
    if not record_ids:
        return {}
    rows = await db.scalars(
        select(tables.Record)
        .where(tables.Record.id.in_(sorted(record_ids)))
        .order_by(tables.Record.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # fresh values even for rows the session holds
    )
    return {r.id: r for r in rows}


async def revisions(
    db: AsyncSession, keys: list[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], dict[str, Any]]:
    """The answers of given revisions; a first revision without them is its record's (still at it)."""
    if not keys:
        return {}
    rows = await db.execute(
        select(
            tables.RecordRevision.record_id,
            tables.RecordRevision.revision,
            func.coalesce(tables.RecordRevision.answers, tables.Record.answers),
        )
        .join(tables.Record, tables.Record.id == tables.RecordRevision.record_id)
        .where(tuple_(tables.RecordRevision.record_id, tables.RecordRevision.revision).in_(keys))
    )
    return {(r, n): a for r, n, a in rows}


async def add_records(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await bulk_insert(db, tables.Record.__table__, rows)  # type: ignore[arg-type]


async def add_revisions(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await bulk_insert(db, tables.RecordRevision.__table__, rows)  # type: ignore[arg-type]


async def add_conflicts(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(tables.Conflict), rows)


async def update_records(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Bulk update by primary key; the trigger bumps each record's change cursor."""
    if rows:
        await db.execute(update(tables.Record), rows)


async def bulk_insert(
    db: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    order_by: str | None = None,
    suffix: str = "",
) -> list[Any]:
    """`INSERT … SELECT FROM unnest(arrays)`: one statement and one parameter per column, any row count.

    Far cheaper than per-row parameters (and no 32,767-parameter limit); jsonb values travel as text
    encoded by msgspec. Every row must have the same keys.
    """
    names = list(rows[0])
    sql, jsonb = _insert_sql(table, tuple(names), order_by, suffix)
    params = {
        f"c{i}": [as_json(r[n]) for r in rows] if n in jsonb else [r[n] for r in rows]
        for i, n in enumerate(names)
    }
    result = await db.execute(text(sql), params)
    return list(result.all()) if "RETURNING" in suffix else []


@functools.cache
def _insert_sql(
    table: Table, names: tuple[str, ...], order_by: str | None, suffix: str
) -> tuple[str, frozenset[str]]:
    jsonb = frozenset(n for n in names if isinstance(table.c[n].type, postgresql.JSONB))
    arrays, picks = [], []
    for i, name in enumerate(names):
        kind = "text" if name in jsonb else table.c[name].type.compile(dialect=DIALECT)
        arrays.append(f"CAST(:c{i} AS {kind}[])")
        picks.append(f"u.c{i}::jsonb" if name in jsonb else f"u.c{i}")
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    order = f" ORDER BY u.c{names.index(order_by)}" if order_by else ""
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(picks)}"
        f" FROM unnest({', '.join(arrays)}) AS u({aliases}){order} {suffix}"
    )
    return sql, jsonb


def as_json(value: Any) -> str | None:
    """jsonb as text for the array parameters; None stays SQL NULL."""
    return None if value is None else msgspec.json.encode(value).decode()
