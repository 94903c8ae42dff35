"""The rescan job: one live per form, a dead one replaced, and errors in words (the SQL goes to the log).

Two real rescans at once, on two server processes, are in tests/e2e/test_e2e_rescan.py.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from survey_api.review import rescan
from tests.factories import Person, batch, submission

BASE = "/api/v1/projects/korat"
RESCAN = f"{BASE}/forms/audit/dedup/rescan"


@pytest.fixture(autouse=True)
async def one_record(client: AsyncClient, coordinator: Person) -> None:
    """Every rescan here has one `audit` record to go through."""
    point = {"lat": 14.97, "lon": 102.08, "accuracy": 4.0}
    sent = submission("audit", {"location": point, "shop_name": "ป้าศรี"})
    pushed = await client.post(f"{BASE}/sync", json=batch(sent), headers=coordinator.headers)
    assert pushed.status_code == 200 and pushed.json()["results"][0]["status"] == "accepted", pushed.text


async def live_job(connection: AsyncConnection, *, silent_minutes: int) -> str:
    """A rescan of `audit` that another server process is running, last heard of that long ago."""
    job_id = str(uuid.uuid4())
    await connection.execute(
        text(
            "INSERT INTO export_jobs (id, project_id, kind, params, status, rows, progress, updated_at)"
            " SELECT :id, id, 'dedup_rescan', '{\"form\": \"audit\"}', 'running', 0, 0.5,"
            " now() - make_interval(mins => :silent) FROM projects WHERE slug = 'korat'"
        ),
        {"id": job_id, "silent": silent_minutes},
    )
    return job_id


async def test_asking_while_a_rescan_runs_returns_that_job(
    client: AsyncClient, coordinator: Person, connection: AsyncConnection
) -> None:
    running = await live_job(connection, silent_minutes=1)
    again = await client.post(RESCAN, headers=coordinator.headers)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == running and again.json()["status"] == "running"
    assert again.headers["location"].endswith(f"/dedup/rescan/{running}")


async def test_a_job_silent_for_ten_minutes_is_replaced(
    client: AsyncClient, coordinator: Person, connection: AsyncConnection
) -> None:
    dead = await live_job(connection, silent_minutes=11)
    started = await client.post(RESCAN, headers=coordinator.headers)
    assert started.status_code == 202, started.text
    assert started.json()["id"] != dead
    old = await client.get(f"{RESCAN}/{dead}", headers=coordinator.headers)
    assert old.json()["status"] == "failed" and "restarted" in old.json()["error"]
    new = await client.get(started.headers["location"], headers=coordinator.headers)
    assert new.json()["status"] == "done", new.json()


async def test_a_failed_job_says_so_in_words_and_logs_the_sql(
    client: AsyncClient, coordinator: Person, monkeypatch, caplog
) -> None:
    async def collide(*args: Any) -> dict[str, int]:
        raise IntegrityError(
            "INSERT INTO duplicate_pairs (id, record_id) VALUES ($1::UUID, $2::UUID)",
            {"id": str(uuid.uuid4())},
            Exception('duplicate key value violates unique constraint "uq_duplicate_pairs_record_id"'),
        )

    monkeypatch.setattr(rescan, "examine", collide)
    with caplog.at_level(logging.ERROR, logger="survey_api.review.rescan"):
        started = await client.post(RESCAN, headers=coordinator.headers)
        assert started.status_code == 202, started.text
        job = (await client.get(started.headers["location"], headers=coordinator.headers)).json()
    assert job["status"] == "failed" and job["finished_at"] is not None
    assert job["error"].startswith("The rescan stopped on an unexpected error after 0 of 1 records")
    assert job["id"] in job["error"]
    for leak in ("INSERT", "duplicate_pairs", "$1", "uq_"):
        assert leak not in job["error"]
    assert "INSERT INTO duplicate_pairs" in caplog.text
    retry = await client.post(RESCAN, headers=coordinator.headers)
    assert retry.status_code == 202  # a failed job is not live: the form can be rescanned again
