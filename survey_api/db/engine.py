"""The database engine, its codecs, and migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs: object) -> AsyncEngine:
    options: dict[str, object] = {"pool_pre_ping": True}
    if "poolclass" not in kwargs:
        options |= {"pool_size": 10, "max_overflow": 10}
    options.update(kwargs)
    # json and jsonb values are many on the intake path (candidates' answers, COPY rows): msgspec
    # encodes SQLAlchemy's binds, and `jsonb_as_bytes` decodes every result (its codecs replace the
    # dialect's, the only users of a `json_deserializer`).
    engine = create_async_engine(url, json_serializer=encode_json, **options)
    event.listen(engine.sync_engine, "connect", jsonb_as_bytes)
    return engine


def jsonb_as_bytes(dbapi_connection: Any, record: object) -> None:
    """json and jsonb travel as msgspec's bytes both ways, not text decoded and encoded again.

    Replaces the codecs SQLAlchemy's dialect set on connect (which ran first); they still take text,
    which is what SQLAlchemy's own binds send.
    """

    async def install(connection: asyncpg.Connection) -> None:
        await connection.set_type_codec(
            "jsonb", encoder=encode_jsonb, decoder=decode_jsonb, schema="pg_catalog", format="binary"
        )
        await connection.set_type_codec(
            "json",
            encoder=encode_json_bytes,
            decoder=msgspec.Raw,  # json columns keep text as sent (1e999 too): it is passed on, not read
            schema="pg_catalog",
            format="binary",
        )

    dbapi_connection.run_async(install)


def encode_jsonb(value: bytes | str) -> bytes:
    return b"\x01" + (value if isinstance(value, bytes) else value.encode())  # 1: jsonb's format version


def encode_json_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def decode_jsonb(data: bytes) -> Any:
    return msgspec.json.decode(memoryview(data)[1:])


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Apply every migration up to head, then install or upgrade the job queue's schema (blocking;
    call it before the event loop serves)."""
    from survey_api.db import queue

    command.upgrade(alembic_config(url), "head")
    asyncio.run(queue.install(url))


async def migrate_async(url: str) -> None:
    await asyncio.to_thread(migrate, url)


def encode_json(value: object) -> str:
    return msgspec.json.encode(value).decode()
