"""The database engine, the per-request transaction, and migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
from alembic import command
from alembic.config import Config
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"

DB = NamedDependency[AsyncSession]
"""The request's session, inside its one transaction (see `provide_db`)."""


def make_engine(url: str, **kwargs: object) -> AsyncEngine:
    options: dict[str, object] = {
        "pool_size": 10,
        "max_overflow": 10,
        "pool_pre_ping": True,
        # jsonb parameters and results are many on the intake path (candidates' answers, say); msgspec
        # encodes and decodes them several times faster than `json`.
        "json_serializer": encode_json,
        "json_deserializer": msgspec.json.decode,
    }
    options.update(kwargs)
    return create_async_engine(url, **options)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request, committed before the response is sent."""
    async with state.sessionmaker() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Apply every migration up to head (blocking; call it before the event loop serves)."""
    command.upgrade(alembic_config(url), "head")


async def migrate_async(url: str) -> None:
    await asyncio.to_thread(migrate, url)


def encode_json(value: object) -> str:
    return msgspec.json.encode(value).decode()
