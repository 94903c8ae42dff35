"""Users, tokens and the problem documents a client sees when something is off."""

from __future__ import annotations

from httpx import AsyncClient

from tests.factories import MakePerson, Person


async def test_health_reports_database(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_openapi_document_is_served(client: AsyncClient) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/me" in paths and "/api/v1/projects" in paths
    page = await client.get("/schema")
    assert page.status_code == 200 and "html" in page.headers["content-type"]


async def test_admin_creates_user_who_logs_in_with_labelled_token(client: AsyncClient, admin: Person) -> None:
    created = await client.post(
        "/api/v1/users",
        json={"email": "somchai@korat.example", "name": "Somchai", "password": "longenough"},
        headers=admin.headers,
    )
    assert created.status_code == 201
    body = created.json()
    assert (
        body["email"] == "somchai@korat.example"
        and body["admin"] is False
        and body["token"].startswith("sv_")
    )

    login = await client.post(
        "/api/v1/auth/token",
        json={"email": "SOMCHAI@korat.example", "password": "longenough", "label": "tablet-07"},
    )
    assert login.status_code == 200
    token = login.json()["token"]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == "somchai@korat.example" and me.json()["projects"] == []

    listed = await client.get(
        f"/api/v1/users/{body['id']}/tokens", headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 200
    labels = [t["label"] for t in listed.json()["items"]]
    assert "tablet-07" in labels
    assert all("token" not in t and "secret_hash" not in t for t in listed.json()["items"])


async def test_wrong_password_is_401(client: AsyncClient, make_person: MakePerson) -> None:
    await make_person(email="nid@korat.example", password="right-password")
    response = await client.post(
        "/api/v1/auth/token", json={"email": "nid@korat.example", "password": "wrong-one"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_revoked_token_is_refused_and_others_keep_working(
    client: AsyncClient, make_person: MakePerson
) -> None:
    person = await make_person(email="lek@korat.example", password="password-1")
    tablet = (
        await client.post(
            "/api/v1/auth/token",
            json={"email": "lek@korat.example", "password": "password-1", "label": "tablet-1"},
        )
    ).json()
    tablet_headers = {"Authorization": f"Bearer {tablet['token']}"}
    revoked = await client.delete(f"/api/v1/users/{person.id}/tokens/{tablet['id']}", headers=person.headers)
    assert revoked.status_code == 204
    assert (await client.get("/api/v1/me", headers=tablet_headers)).status_code == 401
    assert (await client.get("/api/v1/me", headers=person.headers)).status_code == 200

    assert (await client.delete("/api/v1/auth/token", headers=person.headers)).status_code == 204
    assert (await client.get("/api/v1/me", headers=person.headers)).status_code == 401


async def test_someone_else_cannot_list_or_revoke_my_token(
    client: AsyncClient, make_person: MakePerson
) -> None:
    me, other = await make_person(), await make_person()
    listed = await client.get(f"/api/v1/users/{me.id}/tokens", headers=other.headers)
    assert listed.status_code == 403
    [mine] = (await client.get(f"/api/v1/users/{me.id}/tokens", headers=me.headers)).json()["items"]
    revoked = await client.delete(f"/api/v1/users/{me.id}/tokens/{mine['id']}", headers=other.headers)
    assert revoked.status_code == 403
    as_theirs = await client.delete(f"/api/v1/users/{other.id}/tokens/{mine['id']}", headers=other.headers)
    assert as_theirs.status_code == 404  # not one of their tokens
    assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 200


async def test_duplicate_email_is_409(client: AsyncClient, admin: Person) -> None:
    first = await client.post("/api/v1/users", json={"email": "dup@x.org"}, headers=admin.headers)
    again = await client.post("/api/v1/users", json={"email": "DUP@x.org"}, headers=admin.headers)
    assert first.status_code == 201
    assert again.status_code == 409 and "already exists" in again.json()["detail"]


async def test_problem_documents_for_bad_input(client: AsyncClient, admin: Person) -> None:
    missing = await client.get("/api/v1/me")
    assert missing.status_code == 401 and missing.json()["status"] == 401

    garbage = await client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert garbage.status_code == 401

    unknown_route = await client.get("/api/v1/no/such/thing", headers=admin.headers)
    assert unknown_route.status_code == 404
    assert unknown_route.headers["content-type"].startswith("application/problem+json")
    assert set(unknown_route.json()) >= {"type", "title", "status", "detail", "errors"}

    malformed = await client.post(
        "/api/v1/users",
        content=b'{"email": "a@b.c"',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400

    wrong_type = await client.post("/api/v1/users", json={"email": 5}, headers=admin.headers)
    assert wrong_type.status_code == 422
    assert wrong_type.json()["errors"][0]["loc"] == ["body", "email"]

    unknown_key = await client.post(
        "/api/v1/users", json={"email": "a@b.cd", "root": True}, headers=admin.headers
    )
    assert unknown_key.status_code == 422


async def test_body_over_the_limit_is_413(client: AsyncClient, admin: Person) -> None:
    # The test app allows 4 MB.
    response = await client.post(
        "/api/v1/users",
        content=b'{"email": "' + b"x" * (5 * 1024 * 1024) + b'"}',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["status"] == 413
