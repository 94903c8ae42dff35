"""The permission table of API.md, tested as a table: every role against every endpoint group."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from httpx import AsyncClient

from survey_api.web.access import ALLOWED, Action
from tests.factories import FORM, MakePerson, Person, batch, item

ROLES = ("admin", "coordinator", "volunteer", "analyst", "outsider")
counter = itertools.count()

# Straight from API.md's table (admin may do everything).
EXPECTED: dict[Action, set[str]] = {
    Action.MANAGE: {"coordinator"},
    Action.READ_FORMS: {"coordinator", "volunteer", "analyst"},
    Action.PUSH: {"coordinator", "volunteer"},
    Action.REVIEW: {"coordinator"},
    Action.READ: {"coordinator", "analyst"},
    Action.PUBLISH: {"coordinator"},
}


def test_the_table_in_code_is_the_table_in_api_md() -> None:
    assert {action: set(roles) for action, roles in ALLOWED.items()} == EXPECTED


P = "/api/v1/projects/korat"


def endpoints(record_id: str, user_id: str) -> list[tuple[str, str, str, Any]]:
    """(who may: an Action or "admin"), method, path, JSON body."""
    return [
        ("admin", "POST", "/api/v1/users", lambda: {"email": f"new{next(counter)}@x.org"}),
        ("admin", "POST", "/api/v1/projects", lambda: {"slug": f"p{next(counter)}", "name": "P"}),
        (Action.MANAGE, "PUT", f"{P}/members/{user_id}", lambda: {"role": "analyst"}),
        (Action.MANAGE, "POST", f"{P}/forms", lambda: FORM | {"version": "draft"}),
        (Action.MANAGE, "POST", f"{P}/forms/sidewalk_audit/versions/v1/publish", lambda: None),
        (Action.MANAGE, "PUT", f"{P}/forms/sidewalk_audit/dedup", lambda: {"radius_m": 20}),
        (Action.READ_FORMS, "GET", f"{P}/forms", lambda: None),
        (Action.READ_FORMS, "GET", f"{P}/forms/sidewalk_audit", lambda: None),
        (Action.READ_FORMS, "GET", f"{P}/forms/sidewalk_audit/versions", lambda: None),
        (Action.PUSH, "POST", f"{P}/sync", lambda: batch(item())),
        (Action.PUSH, "GET", f"{P}/sync/changes", lambda: None),
        (Action.REVIEW, "GET", f"{P}/review/conflicts", lambda: None),
        (Action.REVIEW, "GET", f"{P}/quarantine", lambda: None),
        (Action.REVIEW, "GET", f"{P}/review/duplicates", lambda: None),
        (Action.MANAGE, "POST", f"{P}/forms/sidewalk_audit/dedup/rescan", lambda: None),
        (
            Action.REVIEW,
            "PATCH",
            f"{P}/records/{record_id}",
            lambda: {"base_revision": 1, "answers": {"width_m": 2}},
        ),
        (Action.READ, "GET", f"{P}/forms/sidewalk_audit/records", lambda: None),
        (Action.READ, "GET", f"{P}/records/{record_id}", lambda: None),
    ]


@pytest.fixture
async def world(client: AsyncClient, admin: Person, member, make_person: MakePerson) -> dict[str, Any]:
    people = {"admin": admin, "outsider": await make_person()}
    for role in ("coordinator", "volunteer", "analyst"):
        people[role] = await member(role)
    assert (await client.post(f"{P}/forms", json=FORM, headers=admin.headers)).status_code == 201
    published = await client.post(f"{P}/forms/sidewalk_audit/versions/v1/publish", headers=admin.headers)
    assert published.status_code == 200, published.text
    pushed = await client.post(f"{P}/sync", json=batch(item()), headers=admin.headers)
    assert pushed.status_code == 200 and pushed.json()["results"][0]["status"] == "accepted", pushed.text
    return {
        "people": people,
        "record_id": pushed.json()["results"][0]["record_id"],
        "target": await make_person(),
    }


async def test_every_role_against_every_endpoint(client: AsyncClient, world: dict[str, Any]) -> None:
    table = endpoints(world["record_id"], world["target"].id)
    # Every action is tried, but publishing to the city database: no endpoint does it yet.
    assert {rule for rule, *_ in table} == {"admin", *Action} - {Action.PUBLISH}
    for rule, method, path, body in table:
        for role in ROLES:
            person: Person = world["people"][role]
            allowed = role == "admin" or (rule != "admin" and role in EXPECTED[rule])
            payload = body()
            response = await client.request(
                method, path, headers=person.headers, **({"json": payload} if payload is not None else {})
            )
            if allowed:
                assert response.status_code < 400 or response.status_code == 409, (
                    method,
                    path,
                    role,
                    response.text,
                )
            else:
                assert response.status_code == 403, (method, path, role, response.text)
                assert response.json()["status"] == 403
        anonymous = await client.request(method, path)
        assert anonymous.status_code == 401, (method, path)
