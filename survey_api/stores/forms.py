"""Forms and their versions. A published version never changes; a draft may be replaced."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api.db import tables


async def form(
    db: AsyncSession, project_id: uuid.UUID, key: str, *, lock: bool = False
) -> tables.Form | None:
    query = select(tables.Form).where(tables.Form.project_id == project_id, tables.Form.key == key)
    if lock:
        query = query.with_for_update()
    return await db.scalar(query)


async def form_for_update(db: AsyncSession, project_id: uuid.UUID, key: str) -> tables.Form:
    """The form row, created if new, locked so concurrent uploads of one form take turns."""
    await db.execute(
        insert(tables.Form).values(id=uuid.uuid4(), project_id=project_id, key=key).on_conflict_do_nothing()
    )
    found = await form(db, project_id, key, lock=True)
    assert found is not None
    return found


async def version(db: AsyncSession, form_id: uuid.UUID, name: str) -> tables.FormVersion | None:
    return await db.scalar(
        select(tables.FormVersion).where(
            tables.FormVersion.form_id == form_id, tables.FormVersion.version == name
        )
    )


async def versions(db: AsyncSession, form_id: uuid.UUID, *, published_only: bool) -> list[tables.FormVersion]:
    query = select(tables.FormVersion).where(tables.FormVersion.form_id == form_id)
    if published_only:
        query = query.where(tables.FormVersion.status == "published")
    return list(await db.scalars(query.order_by(tables.FormVersion.created_at, tables.FormVersion.version)))


async def put_draft(
    db: AsyncSession,
    form_id: uuid.UUID,
    *,
    name: str,
    definition: dict[str, Any],
    hash_: str,
    warnings: list[str],
    user_id: uuid.UUID,
    workbook: tuple[bytes, str] | None = None,
) -> tables.FormVersion:
    """Create the draft, or replace an existing draft of the same version string.

    `workbook` is the uploaded XLSForm and its media type; a JSON upload keeps none."""
    xlsform, xlsform_type = workbook or (None, None)
    statement = insert(tables.FormVersion).values(
        id=uuid.uuid4(),
        form_id=form_id,
        version=name,
        status="draft",
        definition=definition,
        hash=hash_,
        warnings=warnings,
        created_by=user_id,
        created_at=func.clock_timestamp(),
        xlsform=xlsform,
        xlsform_type=xlsform_type,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[tables.FormVersion.form_id, tables.FormVersion.version],
        set_={
            "definition": statement.excluded.definition,
            "hash": statement.excluded.hash,
            "warnings": statement.excluded.warnings,
            "created_by": statement.excluded.created_by,
            "created_at": func.clock_timestamp(),
            "xlsform": statement.excluded.xlsform,
            "xlsform_type": statement.excluded.xlsform_type,
        },
        where=tables.FormVersion.status == "draft",
    )
    row = await db.scalar(statement.returning(tables.FormVersion))
    assert row is not None, "caller checks that the version is not published"
    return row


async def workbook(db: AsyncSession, version_id: uuid.UUID) -> tuple[bytes, str] | None:
    """The XLSForm a version was uploaded as, and its media type; None for a JSON upload."""
    found = (
        await db.execute(
            select(tables.FormVersion.xlsform, tables.FormVersion.xlsform_type).where(
                tables.FormVersion.id == version_id
            )
        )
    ).one_or_none()
    if found is None or found.xlsform is None:
        return None
    return found.xlsform, str(found.xlsform_type)


async def xform(db: AsyncSession, version_id: uuid.UUID) -> tuple[bytes, str] | None:
    """The XForm stored for a version and its md5 (hex); None while it has none."""
    found = (
        await db.execute(
            select(tables.FormVersion.xform, tables.FormVersion.xform_md5).where(
                tables.FormVersion.id == version_id
            )
        )
    ).one_or_none()
    if found is None or found.xform is None:
        return None
    return found.xform, str(found.xform_md5)


async def set_xform(db: AsyncSession, version_id: uuid.UUID, data: bytes, md5: str) -> None:
    """Keep a version's XForm bytes: served as they are from then on, never compiled again."""
    await db.execute(
        update(tables.FormVersion)
        .where(tables.FormVersion.id == version_id)
        .values(xform=data, xform_md5=md5)
    )


async def publish(db: AsyncSession, row: tables.FormVersion) -> datetime:
    published_at = await db.scalar(
        update(tables.FormVersion)
        .where(tables.FormVersion.id == row.id)
        .values(status="published", published_at=func.clock_timestamp())
        .returning(tables.FormVersion.published_at)
    )
    assert published_at is not None
    return published_at


async def latest_published(db: AsyncSession, form_id: uuid.UUID) -> tables.FormVersion | None:
    return await db.scalar(
        select(tables.FormVersion)
        .where(tables.FormVersion.form_id == form_id, tables.FormVersion.status == "published")
        .order_by(tables.FormVersion.published_at.desc())
        .limit(1)
    )


async def catalogue(db: AsyncSession, project_id: uuid.UUID) -> list[tuple[str, tables.FormVersion]]:
    """The latest published version of every form of the project, by key."""
    latest = (
        select(tables.Form.key, tables.FormVersion)
        .join(tables.FormVersion, tables.FormVersion.form_id == tables.Form.id)
        .where(tables.Form.project_id == project_id, tables.FormVersion.status == "published")
        .order_by(tables.Form.key, tables.FormVersion.published_at.desc())
        .ext(distinct_on(tables.Form.key))
    )
    return [(key, row) for key, row in await db.execute(latest)]


async def set_policy(db: AsyncSession, form_id: uuid.UUID, policy: dict[str, Any]) -> None:
    await db.execute(update(tables.Form).where(tables.Form.id == form_id).values(dedup_policy=policy))


async def keys(db: AsyncSession, project_id: uuid.UUID) -> dict[uuid.UUID, str]:
    """Form id -> key, for every form of a project."""
    rows = await db.execute(
        select(tables.Form.id, tables.Form.key).where(tables.Form.project_id == project_id)
    )
    return {i: k for i, k in rows}


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


async def by_id(db: AsyncSession, form_id: uuid.UUID) -> tables.Form | None:
    return await db.get(tables.Form, form_id)


async def versions_named(db: AsyncSession, keys: list[tuple[uuid.UUID, str]]) -> list[tables.FormVersion]:
    """The versions named by (form id, version string)."""
    if not keys:
        return []
    return list(
        await db.scalars(
            select(tables.FormVersion).where(
                tuple_(tables.FormVersion.form_id, tables.FormVersion.version).in_(keys)
            )
        )
    )
