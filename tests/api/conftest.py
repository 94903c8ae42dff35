"""Fixtures of the suites that need the server's stack: one real PostgreSQL per session, migrated once,
each test inside an outer transaction that is rolled back; the real app over HTTPX; users with real
tokens.

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
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from survey_api.app import create_app
from survey_api.db.engine import make_engine, migrate
from survey_api.embedded import EmbeddedPostgres, ensure_database
from survey_api.settings import Settings, normalise_url
from survey_api.stores import users
from tests.factories import FORM, MakePerson, Person, audit_form

TEST_DATABASE = "survey_test"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """An asyncpg URL of a migrated, empty database used by the whole session."""
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


@pytest.fixture
async def client(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncClient]:
    """Real HTTP through the app, in the test's own event loop (so it shares the test's connection)."""
    app = create_app(settings, sessionmaker=sessionmaker)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://survey.test") as test_client:
        yield test_client


@pytest.fixture
def make_person(sessionmaker: async_sessionmaker[AsyncSession]) -> MakePerson:
    counter = iter(range(1_000_000))

    async def make(admin: bool = False, email: str | None = None, password: str | None = None) -> Person:
        email = email or f"person{next(counter)}@example.org"
        async with sessionmaker() as db, db.begin():
            row = await users.create(db, email=email, name=None, password=password, admin=admin)
            token, _ = await users.issue_token(db, row.id, "test")
        return Person(id=str(row.id), email=email, token=token)

    return make


@pytest.fixture
async def admin(make_person: MakePerson) -> Person:
    return await make_person(admin=True)


@pytest.fixture
async def project(client: AsyncClient, admin: Person) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/projects", json={"slug": "korat", "name": "Korat City Lab"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def member(client: AsyncClient, admin: Person, make_person: MakePerson, project: dict[str, Any]):
    """Make a person with a role in the `korat` project."""

    async def make(role: str, pii: bool = False) -> Person:
        person = await make_person()
        response = await client.put(
            f"/api/v1/projects/korat/members/{person.id}",
            json={"role": role, "pii": pii},
            headers=admin.headers,
        )
        assert response.status_code == 200, response.text
        return person

    return make


@pytest.fixture
async def field(client: AsyncClient, member) -> tuple[Person, Person]:
    """A coordinator (who may see PII) who published `sidewalk_audit` v1, and a volunteer."""
    coordinator = await member("coordinator", pii=True)
    volunteer = await member("volunteer")
    created = await client.post("/api/v1/projects/korat/forms", json=FORM, headers=coordinator.headers)
    assert created.status_code == 201, created.text
    published = await client.post(
        "/api/v1/projects/korat/forms/sidewalk_audit/versions/v1/publish", headers=coordinator.headers
    )
    assert published.status_code == 200
    return coordinator, volunteer


@pytest.fixture
async def coordinator(client: AsyncClient, member) -> Person:
    """A coordinator of `korat` (who may see PII) whose form `audit` v1 is published."""
    who = await member("coordinator", pii=True)
    created = await client.post("/api/v1/projects/korat/forms", json=audit_form(), headers=who.headers)
    assert created.status_code == 201, created.text
    published = await client.post(
        "/api/v1/projects/korat/forms/audit/versions/v1/publish", headers=who.headers
    )
    assert published.status_code == 200, published.text
    return who
