"""Area layers and the index's settings of a project."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables

Area = tables.Area


async def replace_layer(
    db: AsyncSession, project_id: uuid.UUID, layer: str, rows: list[dict[str, Any]]
) -> None:
    """The layer's areas become `rows` (each a dict of `areas` columns but the project and layer)."""
    await db.execute(delete(Area).where(Area.project_id == project_id, Area.layer == layer))
    for start in range(0, len(rows), 1000):
        await db.execute(
            insert(Area),
            [{"project_id": project_id, "layer": layer, **r} for r in rows[start : start + 1000]],
        )


async def layers(db: AsyncSession, project_id: uuid.UUID) -> list[tuple[str, int, datetime]]:
    """(layer, areas, last change) of every layer, by name."""
    query = (
        select(Area.layer, func.count(), func.max(Area.updated_at))
        .where(Area.project_id == project_id)
        .group_by(Area.layer)
        .order_by(Area.layer)
    )
    return [(layer, count, at) for layer, count, at in await db.execute(query)]


async def layer(db: AsyncSession, project_id: uuid.UUID, name: str) -> list[tables.Area]:
    """The layer's areas in its order (none: no such layer)."""
    query = select(Area).where(Area.project_id == project_id, Area.layer == name).order_by(Area.position)
    return list(await db.scalars(query))


async def one(db: AsyncSession, project_id: uuid.UUID, name: str, code: str) -> tables.Area | None:
    return await db.get(Area, (project_id, name, code))


async def delete_layer(db: AsyncSession, project_id: uuid.UUID, name: str) -> int:
    result = await db.execute(delete(Area).where(Area.project_id == project_id, Area.layer == name))
    return result.rowcount or 0  # type: ignore[attr-defined]


async def indicators(db: AsyncSession, project_id: uuid.UUID) -> dict[str, Any] | None:
    row = await db.get(tables.ProjectIndicators, project_id)
    return row.settings if row else None


async def put_indicators(
    db: AsyncSession, project_id: uuid.UUID, settings: dict[str, Any], user_id: uuid.UUID
) -> None:
    statement = upsert(tables.ProjectIndicators).values(
        project_id=project_id, settings=settings, updated_by=user_id
    )
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[tables.ProjectIndicators.project_id],
            set_={"settings": statement.excluded.settings, "updated_by": user_id, "updated_at": func.now()},
        )
    )
