"""Shared test fixtures: one real PostgreSQL per session, migrated once; each test rolled back.

The server is the embedded PostgreSQL (a fresh data dir per run) unless SURVEY_TEST_DATABASE_URL
names another one, e.g. this machine's PostgreSQL 15 in CI's second pass.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.pool import NullPool

from survey_api.settings import Settings, normalise_url

TEST_DATABASE = "survey_test"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """An asyncpg URL of a migrated, empty database used by the whole session."""
    from survey_api.db.engine import migrate
    from survey_api.embedded import EmbeddedPostgres, ensure_database

    given = normalise_url(os.environ.get("SURVEY_TEST_DATABASE_URL") or None)
    if given:
        migrate(given)
        yield given
        return
    # Not under pytest's tmp dir: a new pytest session resets it to 0700, which locks out the
    # `pgserver` user PostgreSQL runs as when the tests run as root.
    data_dir = Path(tempfile.mkdtemp(prefix="survey-test-pg-"))
    embedded = EmbeddedPostgres(data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedded.start()
    try:
        asyncio.run(ensure_database(embedded.admin_dsn(), TEST_DATABASE))
        url = embedded.url(TEST_DATABASE)
        migrate(url)
        yield url
    finally:
        embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def engine(server_url: str) -> AsyncIterator[AsyncEngine]:
    """The app's engine (its jsonb codecs included), without a pool."""
    from survey_api.db.engine import make_engine

    engine = make_engine(server_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield conn
        finally:
            await outer.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """The app's commits become savepoint releases inside the test's outer transaction."""
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url="postgresql+asyncpg://unused", data_dir=tmp_path, max_body_mb=4.0)
