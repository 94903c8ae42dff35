"""The owners of transactions: nothing outside this module begins or commits one.

One transaction per unit of work, each with a named owner: `provide_db`, a request's (committed
before the response is sent); `unit_of_work`, anything else's (a job step, a batch in a helper
process, the token check, a CLI command, the short look-up of the sync push); `savepoint`, a part
of a unit that may be rolled back alone (a batch that raced another runs again from it).
Workflows annotate sessions as `Session`, so only this package and the stores import SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

Session = AsyncSession
Sessions = async_sessionmaker[AsyncSession]

DB = NamedDependency[AsyncSession]
"""The request's session, inside its one transaction (see `provide_db`)."""


def make_sessionmaker(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request, committed before the response is sent."""
    async with state.sessionmaker() as session, session.begin():
        yield session


@asynccontextmanager
async def unit_of_work(sessions: Sessions) -> AsyncIterator[AsyncSession]:
    """One transaction outside a request: committed when the block ends, rolled back if it raises."""
    async with sessions() as session, session.begin():
        yield session


@asynccontextmanager
async def savepoint(db: AsyncSession) -> AsyncIterator[None]:
    """A part of the caller's unit that is rolled back alone if it raises."""
    async with db.begin_nested():
        yield


async def ping(sessions: Sessions) -> None:
    """One round trip to the database, in no transaction worth keeping."""
    async with sessions() as session:
        await session.execute(text("SELECT 1"))
