"""HTTP fixtures: the real app over Litestar's AsyncClient, and users with real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from survey_api.app import create_app
from survey_api.settings import Settings
from survey_api.stores import users
from tests.factories import FORM


class Person(msgspec.Struct, kw_only=True):
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def client(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncClient]:
    """Real HTTP through the app, in the test's own event loop (so it shares the test's connection)."""
    app = create_app(settings, sessionmaker=sessionmaker)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://survey.test") as test_client:
        yield test_client


MakePerson = Callable[..., Awaitable[Person]]


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
    """A coordinator who published the form, and a volunteer."""
    coordinator = await member("coordinator", pii=True)
    volunteer = await member("volunteer")
    created = await client.post("/api/v1/projects/korat/forms", json=FORM, headers=coordinator.headers)
    assert created.status_code == 201, created.text
    published = await client.post(
        "/api/v1/projects/korat/forms/sidewalk_audit/versions/v1/publish", headers=coordinator.headers
    )
    assert published.status_code == 200
    return coordinator, volunteer
