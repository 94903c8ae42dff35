"""Projects and memberships."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.factories import MakePerson, Person


async def test_admin_creates_project_and_adds_member(
    client: AsyncClient, admin: Person, make_person: MakePerson
) -> None:
    created = await client.post(
        "/api/v1/projects",
        json={
            "slug": "korat-sidewalks",
            "name": "ทางเท้าโคราช",
            "area": {
                "type": "Polygon",
                "coordinates": [
                    [[102.08, 14.96], [102.12, 14.96], [102.12, 14.99], [102.08, 14.99], [102.08, 14.96]]
                ],
            },
        },
        headers=admin.headers,
    )
    assert created.status_code == 201
    assert created.json()["timezone"] == "Asia/Bangkok"

    volunteer = await make_person()
    put = await client.put(
        f"/api/v1/projects/korat-sidewalks/members/{volunteer.id}",
        json={"role": "volunteer"},
        headers=admin.headers,
    )
    assert put.status_code == 200 and put.json()["role"] == "volunteer"

    me = await client.get("/api/v1/me", headers=volunteer.headers)
    assert me.json()["projects"] == [{"slug": "korat-sidewalks", "role": "volunteer", "pii": False}]
    mine = await client.get("/api/v1/projects", headers=volunteer.headers)
    assert [p["slug"] for p in mine.json()["items"]] == ["korat-sidewalks"]

    removed = await client.delete(
        f"/api/v1/projects/korat-sidewalks/members/{volunteer.id}", headers=admin.headers
    )
    assert removed.status_code == 204
    assert (await client.get("/api/v1/projects", headers=volunteer.headers)).json()["items"] == []


async def test_project_list_pages_with_a_cursor(client: AsyncClient, admin: Person) -> None:
    for n in range(5):
        response = await client.post(
            "/api/v1/projects", json={"slug": f"p{n}", "name": f"P{n}"}, headers=admin.headers
        )
        assert response.status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/projects", params=params, headers=admin.headers)).json()
        seen += [p["slug"] for p in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ["p0", "p1", "p2", "p3", "p4"]
    bad = await client.get("/api/v1/projects", params={"cursor": "%%%"}, headers=admin.headers)
    assert bad.status_code == 400


async def test_bad_projects_are_refused(client: AsyncClient, admin: Person) -> None:
    bad_slug = await client.post(
        "/api/v1/projects", json={"slug": "Bad Slug!", "name": "x"}, headers=admin.headers
    )
    assert bad_slug.status_code == 422
    bad_tz = await client.post(
        "/api/v1/projects",
        json={"slug": "tz", "name": "x", "timezone": "Mars/Olympus"},
        headers=admin.headers,
    )
    assert bad_tz.status_code == 422 and bad_tz.json()["errors"][0]["code"] == "unknown_timezone"
    bad_area = await client.post(
        "/api/v1/projects",
        json={"slug": "area", "name": "x", "area": {"type": "Point", "coordinates": [102.1, 14.97]}},
        headers=admin.headers,
    )
    assert bad_area.status_code == 422
    first = await client.post("/api/v1/projects", json={"slug": "same", "name": "x"}, headers=admin.headers)
    again = await client.post("/api/v1/projects", json={"slug": "same", "name": "y"}, headers=admin.headers)
    assert first.status_code == 201 and again.status_code == 409


async def test_unknown_project_is_404_and_unknown_user_is_404(
    client: AsyncClient, admin: Person, project: dict[str, Any]
) -> None:
    nobody = "00000000-0000-0000-0000-000000000000"
    assert (
        await client.put(
            f"/api/v1/projects/nope/members/{nobody}", json={"role": "analyst"}, headers=admin.headers
        )
    ).status_code == 404
    assert (
        await client.put(
            f"/api/v1/projects/korat/members/{nobody}", json={"role": "analyst"}, headers=admin.headers
        )
    ).status_code == 404
    bad_role = await client.put(
        f"/api/v1/projects/korat/members/{nobody}", json={"role": "boss"}, headers=admin.headers
    )
    assert bad_role.status_code == 422
