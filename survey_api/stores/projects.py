"""Projects and memberships."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables
from survey_api.errors import Conflict


async def create(
    db: AsyncSession, *, slug: str, name: str, timezone: str, area: dict[str, Any] | None
) -> tables.Project:
    row = tables.Project(slug=slug, name=name, timezone=timezone, area=area)
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError as exc:
        raise Conflict(f"A project with the slug {slug!r} already exists.") from exc
    return row


async def by_slug(db: AsyncSession, slug: str) -> tables.Project | None:
    return await db.scalar(select(tables.Project).where(tables.Project.slug == slug))


async def membership(db: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> tables.Membership | None:
    return await db.get(tables.Membership, (project_id, user_id))


async def for_user(
    db: AsyncSession, user_id: uuid.UUID, *, everything: bool, after: str | None, limit: int
) -> list[tuple[tables.Project, str | None, bool]]:
    """Projects the user belongs to (an admin sees all), ordered by slug, after the cursor."""
    query = select(tables.Project, tables.Membership.role, tables.Membership.pii).outerjoin(
        tables.Membership,
        (tables.Membership.project_id == tables.Project.id) & (tables.Membership.user_id == user_id),
    )
    if not everything:
        query = query.where(tables.Membership.user_id == user_id)
    if after is not None:
        query = query.where(tables.Project.slug > after)
    rows = await db.execute(query.order_by(tables.Project.slug).limit(limit))
    return [(p, role, bool(pii)) for p, role, pii in rows]


async def memberships_of(db: AsyncSession, user_id: uuid.UUID) -> list[tuple[str, str, bool]]:
    rows = await db.execute(
        select(tables.Project.slug, tables.Membership.role, tables.Membership.pii)
        .join(tables.Membership, tables.Membership.project_id == tables.Project.id)
        .where(tables.Membership.user_id == user_id)
        .order_by(tables.Project.slug)
    )
    return [(slug, role, pii) for slug, role, pii in rows]


async def put_member(
    db: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID, role: str, pii: bool
) -> None:
    statement = insert(tables.Membership).values(project_id=project_id, user_id=user_id, role=role, pii=pii)
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=[tables.Membership.project_id, tables.Membership.user_id],
            set_={"role": statement.excluded.role, "pii": statement.excluded.pii},
        )
    )


async def set_publish_pii(db: AsyncSession, project_id: uuid.UUID, on: bool) -> None:
    await db.execute(update(tables.Project).where(tables.Project.id == project_id).values(publish_pii=on))


async def remove_member(db: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    result = await db.execute(
        delete(tables.Membership).where(
            tables.Membership.project_id == project_id, tables.Membership.user_id == user_id
        )
    )
    return result.rowcount > 0


async def audit(
    db: AsyncSession,
    *,
    action: str,
    user_id: uuid.UUID | None,
    project_id: uuid.UUID | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    db.add(
        tables.AuditEntry(
            action=action, user_id=user_id, project_id=project_id, target=target, detail=detail or {}
        )
    )
