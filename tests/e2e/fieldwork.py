"""Field work over real HTTP for the end-to-end tests: a project with the sidewalk form, its people, items."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from benchmarks.harness import Server
from tests.factories import FORM
from tests.tools import unavailable

PROJECT = "korat"
API = f"/api/v1/projects/{PROJECT}"


def call(server: Server, api: httpx.Client, method: str, url: str, status: int, **kw: Any) -> Any:
    response = api.request(method, url, **kw)
    assert response.status_code == status, server.explain(response)
    return response.json() if response.content else None


def set_up(server: Server, admin: str, tablets: int) -> tuple[str, list[str]]:
    """A project, a coordinator who publishes the form, and one volunteer per tablet: their tokens."""
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as api:
        call(server, api, "POST", "/api/v1/projects", 201, json={"slug": PROJECT, "name": "Korat City Lab"})

        def person(email: str, role: str, pii: bool = False) -> str:
            made = call(server, api, "POST", "/api/v1/users", 201, json={"email": email, "name": email})
            call(server, api, "PUT", f"{API}/members/{made['id']}", 200, json={"role": role, "pii": pii})
            return made["token"]

        coordinator = person("coordinator@example.org", "coordinator", pii=True)
        volunteers = [person(f"volunteer{n}@example.org", "volunteer") for n in range(tablets)]
    with httpx.Client(base_url=server.url, headers=auth(coordinator), timeout=30) as api:
        call(server, api, "POST", f"{API}/forms", 201, json=FORM)
        call(server, api, "POST", f"{API}/forms/sidewalk_audit/versions/v1/publish", 200)
    return coordinator, volunteers


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


SPOTS = iter(range(1_000_000))


def new_item(**overrides: Any) -> dict[str, Any]:
    """A valid new submission at its own spot, 300 m from any other (no near-duplicate matches)."""
    spot = next(SPOTS)
    answers = {
        "location": {
            "lat": 14.90 + (spot // 100) * 0.003,
            "lon": 102.00 + (spot % 100) * 0.003,
            "accuracy": 4.0,
        },
        "shop_name": f"ร้านที่ {spot}",
        "surface": "concrete",
        "width_m": 1.8,
        "owner_phone": "0812345678",
        "trees": [{"species": "ต้นหูกวาง", "girth_cm": 95}],
    }
    answers.update(overrides.pop("answers", {}))
    return {
        "uuid": str(uuid.uuid4()),
        "form": "sidewalk_audit",
        "version": "v1",
        "answers": answers,
        **overrides,
    }


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new empty database on this machine's PostgreSQL (127.0.0.1:5432), its URL; dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc"]
    created = subprocess.run([*psql, f"CREATE DATABASE {name}"], capture_output=True, text=True)
    if created.returncode != 0:
        unavailable(f"no PostgreSQL on 127.0.0.1:5432 to publish to: {created.stderr.strip()}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)
