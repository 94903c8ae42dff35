"""Hostile reads and admin writes: every bad request is a 4xx problem document, never a 500.

Cursors are opaque, but a client can send anything back; PostgreSQL cannot store NUL in text nor an
integer beyond bigint; a JSON body can nest deeper than any decoder goes.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import msgspec
import pytest
from httpx import AsyncClient, Response

from tests.factories import Person, audit_form, batch, submission

BASE = "/api/v1/projects/korat"
BIGINT_MAX = 2**63 - 1


def cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(value)).decode().rstrip("=")


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text[:500]}"
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


GARBLED = [
    "!!!",  # not base64
    "e30",  # {}
    cursor([1]),
    cursor(["x", "y"]),
    cursor([2**64, 0]),
    cursor([0, 2**63]),
    cursor([-(2**63) - 1, 0]),
    cursor("Not a UUID!"),
    cursor(2**63),
    cursor(1.5),
    cursor(None),
    cursor(True),
    cursor({"a": 1}),
    cursor("\u0000"),
    cursor(["\u0000", "\u0000"]),
    cursor(["0001-01-01T00:00:00+07:00", str(uuid.uuid4())]),
    cursor(["9999-12-31T23:59:59-07:00", str(uuid.uuid4())]),
    cursor(["2026-11-20T10:00:00", str(uuid.uuid4())]),  # no offset
    cursor(["2026-11-20T10:00:00+07:00", "not-a-uuid"]),
    cursor("x" * 10_000),
]

# Each list, the query parameter its cursor travels in, and a cursor of the right shape.
LISTS = [
    (f"{BASE}/forms/audit/records", "cursor", ["2026-11-20T10:00:00+07:00", str(uuid.uuid4())]),
    (f"{BASE}/review/duplicates", "cursor", ["2026-11-20T10:00:00+07:00", str(uuid.uuid4())]),
    (f"{BASE}/review/conflicts", "cursor", str(uuid.uuid4())),
    (f"{BASE}/quarantine", "cursor", 12),
    (f"{BASE}/sync/changes", "since", [5, 7]),
    ("/api/v1/projects", "cursor", "korat"),
]


@pytest.mark.parametrize(("path", "param", "good"), LISTS, ids=[p.rsplit("/", 1)[-1] for p, _, _ in LISTS])
async def test_garbled_cursors_are_400_on_every_list(
    client: AsyncClient, coordinator: Person, path: str, param: str, good: Any
) -> None:
    fine = await client.get(path, params={param: cursor(good)}, headers=coordinator.headers)
    assert fine.status_code == 200, fine.text
    for bad in GARBLED:
        if bad == cursor(good):
            continue
        response = await client.get(path, params={param: bad}, headers=coordinator.headers)
        body = assert_problem(response, 400)
        assert body["errors"][0]["loc"] == ["query", param], (bad, body)


async def test_times_at_the_ends_of_the_calendar_are_422(client: AsyncClient, coordinator: Person) -> None:
    for since in ("0001-01-01T00:00:00+07:00", "9999-12-31T23:59:59-07:00"):
        response = await client.get(
            f"{BASE}/forms/audit/records", params={"since": since}, headers=coordinator.headers
        )
        body = assert_problem(response, 422)
        assert body["errors"][0]["loc"] == ["query", "since"]
    fine = await client.get(
        f"{BASE}/forms/audit/records", params={"since": "0001-01-01T00:00:00Z"}, headers=coordinator.headers
    )
    assert fine.status_code == 200, fine.text


async def test_quarantine_ids_beyond_bigint_are_refused(client: AsyncClient, coordinator: Person) -> None:
    for raw in (BIGINT_MAX + 1, 2**64, 10**30):
        replay = await client.post(f"{BASE}/quarantine/{raw}/replay", json={}, headers=coordinator.headers)
        body = assert_problem(replay, 422)
        assert body["errors"][0]["loc"] == ["path", "submission_id"]
        discard = await client.delete(f"{BASE}/quarantine/{raw}", headers=coordinator.headers)
        assert_problem(discard, 422)
    known_range = await client.delete(f"{BASE}/quarantine/{BIGINT_MAX}", headers=coordinator.headers)
    assert_problem(known_range, 404)


async def test_nul_in_a_path_segment_or_query_is_400(client: AsyncClient, coordinator: Person) -> None:
    for path in (
        "/api/v1/projects/ko%00rat/forms",
        f"{BASE}/forms/au%00dit/records",
        f"{BASE}/forms/audit/versions/v%001",
    ):
        body = assert_problem(await client.get(path, headers=coordinator.headers), 400)
        assert body["errors"][0]["loc"] == ["path"]
    for path, params in (
        (f"{BASE}/review/duplicates", {"form": "au\x00dit"}),
        (f"{BASE}/forms/audit/records", {"status": "\x00"}),
        (f"{BASE}/sync/changes", {"form": "a\x00"}),
        (f"{BASE}/forms/audit/diff", {"from": "v\x001", "to": "v1"}),
    ):
        response = await client.get(path, params=params, headers=coordinator.headers)
        body = assert_problem(response, 400)
        assert body["errors"][0]["loc"] == ["query", next(k for k, v in params.items() if "\x00" in v)]


async def test_nul_in_any_text_of_a_json_body_is_422(
    client: AsyncClient, admin: Person, coordinator: Person
) -> None:
    refused = [
        ("POST", "/api/v1/projects", admin, {"slug": "nul", "name": "Korat\x00"}),
        ("POST", "/api/v1/users", admin, {"email": "a\x00@example.org"}),
        ("POST", "/api/v1/users", admin, {"email": "nul@example.org", "name": "N\x00"}),
        ("POST", "/api/v1/auth/token", None, {"email": "a\x00@example.org", "password": "x"}),
        ("POST", f"{BASE}/forms", coordinator, audit_form(version="v\x002")),
        ("POST", f"{BASE}/forms", coordinator, audit_form(version="v2", title="A\x00")),
        (
            "POST",
            f"{BASE}/forms",
            coordinator,
            audit_form(version="v2", fields=[{"name": "x", "type": "text", "label": {"en": "\x00"}}]),
        ),
    ]
    for method, path, who, body in refused:
        headers = who.headers if who else {}
        response = await client.request(method, path, json=body, headers=headers)
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["code"] == "nul_character", problem
    # A backslash followed by `u0000` is ordinary text, not a NUL.
    literal = await client.post(
        "/api/v1/projects", json={"slug": "literal", "name": "C:\\u0000"}, headers=admin.headers
    )
    assert literal.status_code == 201, literal.text
    assert literal.json()["name"] == "C:\\u0000"


async def test_sync_push_still_judges_a_nul_per_item(client: AsyncClient, coordinator: Person) -> None:
    """The door guard leaves the sync push alone: a NUL costs its own item, never the batch."""
    fine, bad = submission("audit", {"shop_name": "fine"}), submission("au\x00dit", {"shop_name": "bad"})
    response = await client.post(f"{BASE}/sync", json=batch(fine, bad), headers=coordinator.headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"], results
    assert [(e["loc"], e["code"]) for e in results[1]["errors"]] == [(["form"], "invalid")]


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


async def test_deeply_nested_json_is_400(client: AsyncClient, admin: Person, coordinator: Person) -> None:
    deep = nested(10_000)
    area = b'{"slug": "deep", "name": "Deep", "area": {"type": "Polygon", "coordinates": ' + deep + b"}}"
    project = await client.post(
        "/api/v1/projects", content=area, headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert_problem(project, 400)
    for depth in (500, 900):  # readable JSON, but no polygon: its coordinates nest three deep
        area = b'{"slug": "deep", "name": "Deep", "area": {"type": "Polygon", "coordinates": '
        area += nested(depth) + b"}}"
        project = await client.post(
            "/api/v1/projects", content=area, headers={**admin.headers, "Content-Type": "application/json"}
        )
        assert_problem(project, 422)
    form = b'{"key": "deep", "version": "v1", "title": "Deep", "fields": ' + deep + b"}"
    upload = await client.post(
        f"{BASE}/forms", content=form, headers={**coordinator.headers, "Content-Type": "application/json"}
    )
    assert_problem(upload, 400)


async def test_deeply_nested_groups_are_a_422_not_a_crash(client: AsyncClient, coordinator: Person) -> None:
    """Groups within groups, shallow enough to decode but deeper than any real form."""
    field: dict[str, Any] = {"name": "leaf", "type": "text"}
    for level in range(300):
        field = {"name": f"g{level}", "type": "group", "fields": [field]}
    response = await client.post(
        f"{BASE}/forms", json=audit_form(version="deep", fields=[field]), headers=coordinator.headers
    )
    assert_problem(response, 422)
