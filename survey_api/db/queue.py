"""The job queue's tables and connections: PgQueuer, in a schema of its own (`job_queue`).

PgQueuer rather than procrastinate: it speaks asyncpg, the driver the app already has (procrastinate
needs psycopg and a second pool beside it), so a job is queued in the request's own transaction and
never exists without the row that describes it. Workers on any number of machines take jobs with
`FOR UPDATE SKIP LOCKED`, are woken by LISTEN/NOTIFY (with polling as a fallback), and a job whose
worker died (its heartbeat stopped) is taken again by another, so a restart loses nothing.

Its schema is installed, or upgraded to the installed PgQueuer's declaration, by `install` right after
our migrations (`survey-api migrate`, `serve`, `worker`): PgQueuer converges its own schema from one
version to the next, which a frozen copy of its DDL in an Alembic revision would not. It lives in its
own schema so that our tables and theirs never mix (nor the check that ours match the migrations).
"""

from __future__ import annotations

import asyncpg
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.adapters.persistence.qb import (
    QueryBuilderEnvironment,
    QueryQueueBuilder,
    QuerySchedulerBuilder,
)
from pgqueuer.domain.settings import DBSettings, Durability
from pgqueuer.queries import Queries

SCHEMA = "job_queue"


def settings() -> DBSettings:
    """Every name given, so no `PGQUEUER_*` (or bare `QUEUE_TABLE`, ...) variable can move them."""
    return DBSettings(
        prefix="",
        db_schema=SCHEMA,
        channel="survey_job_queue",
        function="fn_pgqueuer_changed",
        statistics_table="pgqueuer_statistics",
        queue_status_type="pgqueuer_status",
        queue_table="pgqueuer",
        queue_table_log="pgqueuer_log",
        trigger="tg_pgqueuer_changed",
        schedules_table="pgqueuer_schedules",
        durability=Durability.durable,
        widen_id=True,
    )


def queries(connection: object) -> Queries:
    """PgQueuer's queries over one asyncpg connection (a raw one, or a pooled one)."""
    names = settings()
    return Queries(
        AsyncpgDriver(connection),  # type: ignore[arg-type]
        qbe=QueryBuilderEnvironment(names),
        qbq=QueryQueueBuilder(names),
        qbs=QuerySchedulerBuilder(names),
    )


def dsn(url: str) -> str:
    """asyncpg's DSN for SQLAlchemy's `postgresql+asyncpg://` URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def connect(url: str) -> asyncpg.Connection:
    """A connection of the queue's own, outside SQLAlchemy's pool (it listens for new jobs)."""
    return await asyncpg.connect(dsn(url))


INSTALL_LOCK = 0x5355_5256_4A4F  # any constant: processes installing at once take turns


async def install(url: str) -> None:
    """Create the queue's schema, or bring it to what the installed PgQueuer declares."""
    connection = await connect(url)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", INSTALL_LOCK)
        try:
            made = queries(connection)
            if not await made.schema_is_installed():
                await made.install()
            else:
                await made.apply_upgrade()
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", INSTALL_LOCK)
    finally:
        await connection.close()
