"""Files attached to form versions, by name; the bytes are read only where they are needed."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables


async def put(
    db: AsyncSession,
    version_id: uuid.UUID,
    *,
    name: str,
    data: bytes,
    media_type: str,
    sha256: str,
    user_id: uuid.UUID | None,
) -> tables.FormMedia:
    """Attach the file, or replace the one of the same name."""
    values = {
        "name": name,
        "data": data,
        "media_type": media_type,
        "size": len(data),
        "sha256": sha256,
        "created_by": user_id,
        "created_at": func.clock_timestamp(),
    }
    statement = insert(tables.FormMedia).values(id=uuid.uuid4(), version_id=version_id, **values)
    statement = statement.on_conflict_do_update(
        index_elements=[tables.FormMedia.version_id, tables.FormMedia.name],
        set_={k: getattr(statement.excluded, k) for k in values},
    )
    row = await db.scalar(statement.returning(tables.FormMedia))
    assert row is not None
    return row


async def listing(db: AsyncSession, version_id: uuid.UUID) -> list[tables.FormMedia]:
    """A version's files without their bytes, by name."""
    query = select(tables.FormMedia).where(tables.FormMedia.version_id == version_id)
    return list(await db.scalars(query.order_by(tables.FormMedia.name)))


async def contents(db: AsyncSession, version_id: uuid.UUID, names: list[str]) -> dict[str, bytes]:
    """The bytes of the named files that are attached."""
    if not names:
        return {}
    rows = await db.execute(
        select(tables.FormMedia.name, tables.FormMedia.data).where(
            tables.FormMedia.version_id == version_id, tables.FormMedia.name.in_(names)
        )
    )
    return {name: data for name, data in rows}
