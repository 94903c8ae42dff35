"""Users and their tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from survey_api import credentials
from survey_api.db import tables
from survey_api.errors import Conflict

TOUCH_EVERY = timedelta(minutes=1)


async def create(
    db: AsyncSession, *, email: str, name: str | None, password: str | None, admin: bool
) -> tables.User:
    row = tables.User(
        email=email.strip(),
        name=name,
        admin=admin,
        password_hash=credentials.hash_password(password) if password else None,
    )
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError as exc:
        raise Conflict(f"A user with the email {email!r} already exists.") from exc
    return row


async def by_email(db: AsyncSession, email: str) -> tables.User | None:
    return await db.scalar(select(tables.User).where(func.lower(tables.User.email) == email.strip().lower()))


async def get(db: AsyncSession, user_id: uuid.UUID) -> tables.User | None:
    return await db.get(tables.User, user_id)


async def issue_token(db: AsyncSession, user_id: uuid.UUID, label: str | None) -> tuple[str, tables.Token]:
    token, secret_hash = credentials.new_token()
    row = tables.Token(user_id=user_id, label=label, secret_hash=secret_hash)
    db.add(row)
    await db.flush()
    return token, row


async def by_token(db: AsyncSession, secret_hash: bytes) -> credentials.User | None:
    found = (
        await db.execute(
            select(tables.User, tables.Token.id, tables.Token.last_used_at)
            .join(tables.Token, tables.Token.user_id == tables.User.id)
            .where(tables.Token.secret_hash == secret_hash, tables.Token.revoked_at.is_(None))
        )
    ).first()
    if found is None:
        return None
    user, token_id, last_used = found
    now = datetime.now(UTC)
    if last_used is None or now - last_used > TOUCH_EVERY:
        await db.execute(update(tables.Token).where(tables.Token.id == token_id).values(last_used_at=now))
    return credentials.User(id=user.id, email=user.email, name=user.name, admin=user.admin, token_id=token_id)


async def tokens(db: AsyncSession, user_id: uuid.UUID) -> list[tables.Token]:
    rows = await db.scalars(
        select(tables.Token)
        .where(tables.Token.user_id == user_id, tables.Token.revoked_at.is_(None))
        .order_by(tables.Token.created_at)
    )
    return list(rows)


async def revoke_token(db: AsyncSession, user_id: uuid.UUID, token_id: uuid.UUID) -> bool:
    result = await db.execute(
        update(tables.Token)
        .where(
            tables.Token.id == token_id, tables.Token.user_id == user_id, tables.Token.revoked_at.is_(None)
        )
        .values(revoked_at=func.now())
    )
    return result.rowcount > 0
