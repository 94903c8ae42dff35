"""Limits that agree: what one endpoint accepts, the next one in the user's path accepts too."""

from __future__ import annotations

import uuid

import pytest
from httpx import AsyncClient

from survey_api import cli
from tests.factories import Person, audit_form, batch, submission
from tests.workbooks import XLSX, build_xlsx

BASE = "/api/v1/projects/korat"


async def test_a_version_that_could_never_be_published_is_refused_at_upload(
    client: AsyncClient, member
) -> None:
    coordinator = await member("coordinator")
    for key, version, loc in (
        ("audit", "2026/11/20", "version"),
        ("audit", "v" * 256, "version"),
        ("audit", " v1", "version"),
        ("k" * 256, "v1", "key"),
    ):
        response = await client.post(
            f"{BASE}/forms", json=audit_form(key=key, version=version), headers=coordinator.headers
        )
        assert response.status_code == 422, response.text
        assert [e["loc"] for e in response.json()["errors"]] == [[loc]]
    workbook = build_xlsx(
        [["type", "name", "label"], ["text", "shop_name", "Shop name"]],
        None,
        [["form_id", "version", "form_title"], ["audit", "2026/11/20", "Audit"]],
    )
    response = await client.post(
        f"{BASE}/forms", files={"file": ("audit.xlsx", workbook, XLSX)}, headers=coordinator.headers
    )
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["errors"]] == [["settings", 2, "version"]]


async def test_the_longest_key_and_version_are_published_and_receive_submissions(
    client: AsyncClient, member
) -> None:
    coordinator = await member("coordinator")
    key, version = "k" * 255, "2026-11-20 " + "v" * 244
    created = await client.post(
        f"{BASE}/forms", json=audit_form(key=key, version=version), headers=coordinator.headers
    )
    assert created.status_code == 201, created.text
    published = await client.post(
        f"{BASE}/forms/{key}/versions/{version}/publish", headers=coordinator.headers
    )
    assert published.status_code == 200, published.text
    sent = submission(key, {"shop_name": "x"}, version=version)
    pushed = await client.post(f"{BASE}/sync", json=batch(sent), headers=coordinator.headers)
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["results"][0]["status"] == "accepted", pushed.text


async def test_projects_limit_is_checked_like_every_other_list(client: AsyncClient, admin: Person) -> None:
    for limit in ("0", "-1", "1001"):
        response = await client.get("/api/v1/projects", params={"limit": limit}, headers=admin.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["query", "limit"]
    assert (await client.get("/api/v1/projects?limit=1000", headers=admin.headers)).status_code == 200


async def test_tokens_of_an_unknown_user_are_404(client: AsyncClient, admin: Person, make_person) -> None:
    stranger = uuid.uuid4()
    unknown = await client.get(f"/api/v1/users/{stranger}/tokens", headers=admin.headers)
    assert unknown.status_code == 404, unknown.text
    someone = await make_person()
    other = await client.get(f"/api/v1/users/{stranger}/tokens", headers=someone.headers)
    assert other.status_code == 403  # whether the user exists is not for them to learn
    own = await client.get(f"/api/v1/users/{someone.id}/tokens", headers=someone.headers)
    assert own.status_code == 200 and len(own.json()["items"]) == 1


BAD_EMAILS = [
    "bad email",
    "no-at-sign",
    "two@at@signs",
    "@example.org",
    "name@",
    " a@example.org",
    "a\t@b.org",
]


@pytest.mark.parametrize("email", BAD_EMAILS)
async def test_the_api_and_the_cli_refuse_the_same_emails(
    client: AsyncClient, admin: Person, email: str, monkeypatch, capsys
) -> None:
    response = await client.post("/api/v1/users", json={"email": email}, headers=admin.headers)
    assert response.status_code == 422, response.text
    # Refused before any database is reached: this URL would fail to connect.
    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert cli.main(["user", "create", email]) == 2
    said = capsys.readouterr()
    assert said.out == "" and "is not an email address" in said.err


def test_the_cli_refuses_a_password_the_api_would_refuse(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SURVEY_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert cli.main(["user", "create", "somchai@korat.example", "--password", "short"]) == 2
    assert "--password" in capsys.readouterr().err
