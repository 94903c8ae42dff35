"""Export jobs over HTTP with a real worker on the real queue: the job's file is the streamed export,
a broken download resumes with `Range`, failures and expiry are reported, rights are kept.

A worker takes only committed jobs, so these tests commit: `sessionmaker` here is the engine's own
(not the rolled-back connection of the other API tests) and every table is emptied afterwards.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from survey_api.db import tables
from survey_api.db.engine import make_engine
from survey_api.db.queue import SCHEMA
from survey_api.db.session import make_sessionmaker
from survey_api.exporting import run as export_run
from survey_api.jobs.worker import Worker
from tests.factories import SYNC, batch, shop

JOBS = "/api/v1/projects/korat/exports"
EXPORT = "/api/v1/projects/korat/forms/sidewalk_audit/export"


@pytest.fixture
async def sessionmaker(server_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that commit for real, so a worker sees the jobs; everything is emptied afterwards."""
    engine = make_engine(server_url, poolclass=NullPool)
    try:
        yield make_sessionmaker(engine)
    finally:
        names = ", ".join(t.name for t in tables.Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names}, {SCHEMA}.pgqueuer, {SCHEMA}.pgqueuer_log CASCADE"))
        await engine.dispose()


@pytest.fixture
async def start_worker(
    server_url: str, sessionmaker: async_sessionmaker[AsyncSession], settings: Any
) -> AsyncIterator[Any]:
    """Start a worker on the test's data dir (its files are where the app looks for them)."""
    started: list[Worker] = []

    async def start(ttl: timedelta = timedelta(hours=1)) -> Worker:
        worker = Worker(server_url, sessionmaker, settings.data_dir, ttl, sweep_every=0.2)
        await worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop(grace=1)


@pytest.fixture
async def worker(start_worker: Any) -> Worker:
    return await start_worker()


@pytest.fixture
async def records(client: AsyncClient, field) -> Any:
    """`sidewalk_audit` with five shops 100 m apart (a repeat too, so csv is a zip)."""
    coordinator, volunteer = field
    items = [
        shop(f"ร้านที่ {i}", north_m=100.0 * i, trees=[{"species": "ต้นหูกวาง", "girth_cm": 90 + i}])
        for i in range(5)
    ]
    pushed = await client.post(SYNC, json=batch(*items), headers=volunteer.headers)
    assert pushed.status_code == 200, pushed.text
    assert {r["status"] for r in pushed.json()["results"]} == {"accepted"}
    return coordinator, volunteer


async def until(
    client: AsyncClient, job: str, who: Any, *wanted: str, seconds: float = 30.0
) -> dict[str, Any]:
    """Poll the job until its status is one of `wanted`; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        response = await client.get(f"/api/v1/exports/{job}", headers=who.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in wanted:
            return body
        assert time.monotonic() < deadline, f"job still {body['status']} after {seconds} s: {body}"
        await asyncio.sleep(0.05)


def content(fmt: str, data: bytes) -> Any:
    """A file's content as a reader sees it (zips and workbooks carry times of their own)."""
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        return {
            name: [list(row) for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames
        }
    if fmt == "csv":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}
    return json.loads(data)


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "geojson"])
async def test_a_job_goes_from_queued_to_done_and_its_file_is_the_export(client, records, worker, fmt):
    coordinator, _ = records
    asked = await client.post(
        JOBS, json={"form": "sidewalk_audit", "format": fmt}, headers=coordinator.headers
    )
    assert asked.status_code == 202, asked.text
    job = asked.json()
    assert job["status"] == "queued" and job["total"] == 5 and job["file"] is None
    assert asked.headers["location"] == f"/api/v1/exports/{job['id']}"

    done = await until(client, job["id"], coordinator, "done", "failed")
    assert done["status"] == "done", done
    assert (done["rows"], done["progress"]) == (5, 1.0)
    assert done["file"] == f"/api/v1/exports/{job['id']}/file" and done["expires_at"]

    got = await client.get(done["file"], headers=coordinator.headers)
    streamed = await client.get(f"{EXPORT}.{fmt}", headers=coordinator.headers)
    assert got.status_code == 200 and streamed.status_code == 200
    assert got.headers["content-type"] == streamed.headers["content-type"]
    assert got.headers["content-disposition"] == streamed.headers["content-disposition"]
    read = content(fmt, got.content)
    assert read == content(fmt, streamed.content)
    text_of = json.dumps(read, ensure_ascii=False, default=repr)
    assert all(f"ร้านที่ {i}" in text_of for i in range(5))


async def download_broken_at(client: AsyncClient, url: str, who: Any, cut: int) -> bytes:
    """The first `cut` bytes of a download whose connection then breaks."""
    got = b""
    async with client.stream("GET", url, headers=who.headers) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_raw():
            got += chunk
            if len(got) >= cut:
                break
    return got[:cut]


async def test_a_broken_download_resumes_with_range_byte_for_byte(client, records, worker):
    coordinator, _ = records
    asked = await client.post(
        JOBS, json={"form": "sidewalk_audit", "format": "xlsx"}, headers=coordinator.headers
    )
    done = await until(client, asked.json()["id"], coordinator, "done", "failed")
    whole = await client.get(done["file"], headers=coordinator.headers)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    etag, size = whole.headers["etag"], len(whole.content)
    assert etag.startswith('"') and int(whole.headers["content-length"]) == size > 1000

    first = await download_broken_at(client, done["file"], coordinator, size // 2)
    rest = await client.get(
        done["file"], headers={**coordinator.headers, "Range": f"bytes={len(first)}-", "If-Range": etag}
    )
    assert rest.status_code == 206, rest.text
    assert rest.headers["content-range"] == f"bytes {len(first)}-{size - 1}/{size}"
    assert first + rest.content == whole.content

    middle = await client.get(done["file"], headers={**coordinator.headers, "Range": "bytes=10-19"})
    assert (middle.status_code, middle.content) == (206, whole.content[10:20])
    tail = await client.get(done["file"], headers={**coordinator.headers, "Range": "bytes=-7"})
    assert (tail.status_code, tail.content) == (206, whole.content[-7:])
    other = await client.get(
        done["file"], headers={**coordinator.headers, "Range": "bytes=5-", "If-Range": '"x"'}
    )
    assert (other.status_code, other.content) == (200, whole.content)
    past = await client.get(done["file"], headers={**coordinator.headers, "Range": f"bytes={size}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"
    assert past.headers["content-type"].startswith("application/problem+json")


async def test_a_job_whose_form_is_gone_when_it_runs_fails_with_a_sentence(
    client, records, start_worker, sessionmaker
):
    coordinator, _ = records
    asked = await client.post(
        JOBS, json={"form": "sidewalk_audit", "format": "csv"}, headers=coordinator.headers
    )
    assert asked.status_code == 202
    job = asked.json()["id"]
    async with sessionmaker() as db, db.begin():  # no worker yet: the job waits, then its form "goes"
        await db.execute(
            update(tables.Job)
            .where(tables.Job.id == job)
            .values(params=tables.Job.params.op("||")(text('\'{"form": "gone"}\'::jsonb')))
        )
    waiting = await client.get(f"/api/v1/exports/{job}", headers=coordinator.headers)
    assert waiting.json()["status"] == "queued"
    not_yet = await client.get(f"/api/v1/exports/{job}/file", headers=coordinator.headers)
    assert not_yet.status_code == 409

    await start_worker()
    failed = await until(client, job, coordinator, "done", "failed")
    assert failed["status"] == "failed" and failed["file"] is None
    assert failed["error"] == "The export could not run: No form 'gone' in this project."
    never = await client.get(f"/api/v1/exports/{job}/file", headers=coordinator.headers)
    assert never.status_code == 409


async def test_an_expired_file_is_deleted_and_answers_410(client, records, start_worker, settings):
    coordinator, _ = records
    await start_worker(ttl=timedelta(seconds=0.3))
    asked = await client.post(
        JOBS, json={"form": "sidewalk_audit", "format": "geojson"}, headers=coordinator.headers
    )
    job = asked.json()["id"]
    gone = await until(client, job, coordinator, "expired", "failed")
    assert gone["status"] == "expired" and gone["file"] is None and gone["rows"] == 5
    left = await asyncio.to_thread(lambda: list(Path(settings.data_dir, "exports").glob(f"{job}.*")))
    assert left == []
    answer = await client.get(f"/api/v1/exports/{job}/file", headers=coordinator.headers)
    assert answer.status_code == 410 and "expired" in answer.json()["detail"]


async def test_who_may_ask_see_and_download(client, records, admin, make_person, member, worker):
    coordinator, volunteer = records
    refused = await client.post(
        JOBS, json={"form": "sidewalk_audit", "format": "csv"}, headers=volunteer.headers
    )
    assert refused.status_code == 403

    asked = await client.post(
        JOBS, json={"form": "sidewalk_audit", "format": "csv"}, headers=coordinator.headers
    )
    job = asked.json()["id"]
    await until(client, job, coordinator, "done", "failed")

    stranger = await make_person()
    other = await client.post(
        "/api/v1/projects", json={"slug": "khonkaen", "name": "Khon Kaen"}, headers=admin.headers
    )
    assert other.status_code == 201
    joined = await client.put(
        f"/api/v1/projects/khonkaen/members/{stranger.id}", json={"role": "analyst"}, headers=admin.headers
    )
    assert joined.status_code == 200
    for path in (f"/api/v1/exports/{job}", f"/api/v1/exports/{job}/file"):
        hidden: Response = await client.get(path, headers=stranger.headers)
        assert hidden.status_code == 404, path

    analyst = await member("analyst")  # may read the project, but not the personal data in this file
    seen = await client.get(f"/api/v1/exports/{job}", headers=analyst.headers)
    assert seen.status_code == 200 and seen.json()["status"] == "done"
    kept = await client.get(f"/api/v1/exports/{job}/file", headers=analyst.headers)
    assert kept.status_code == 403


async def test_parameters_are_checked_when_the_job_is_asked_for(client, records):
    coordinator, _ = records
    bad = await client.post(
        JOBS,
        json={"form": "sidewalk_audit", "format": "csv", "bbox": "1,2,3", "since": "yesterday"},
        headers=coordinator.headers,
    )
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["errors"]} == {("body", "bbox"), ("body", "since")}
    unknown = await client.post(JOBS, json={"form": "nope", "format": "csv"}, headers=coordinator.headers)
    assert unknown.status_code == 404
    wrong = await client.post(
        JOBS, json={"form": "sidewalk_audit", "format": "pdf"}, headers=coordinator.headers
    )
    assert wrong.status_code in (400, 422)
    nothing = await client.get(
        f"/api/v1/exports/{'0' * 8}-0000-0000-0000-{'0' * 12}", headers=coordinator.headers
    )
    assert nothing.status_code == 404


async def test_a_job_left_running_by_a_dead_worker_is_taken_over(client, records, start_worker, sessionmaker):
    coordinator, _ = records
    asked = await client.post(
        JOBS, json={"form": "sidewalk_audit", "format": "csv"}, headers=coordinator.headers
    )
    job = asked.json()["id"]
    async with sessionmaker() as db, db.begin():  # a worker took it, then died: both rows fell silent
        await db.execute(
            text(
                "UPDATE export_jobs SET status = 'running', updated_at = now() - interval '5 minutes' WHERE id = :id"
            ),
            {"id": job},
        )
        picked = await db.execute(
            text(
                f"UPDATE {SCHEMA}.pgqueuer SET status = 'picked', queue_manager_id = gen_random_uuid(),"
                " heartbeat = now() - interval '5 minutes', updated = now() - interval '5 minutes'"
            )
        )
        assert picked.rowcount == 1
    await start_worker()
    done = await until(client, job, coordinator, "done", "failed")
    assert done["status"] == "done" and done["rows"] == 5, done


async def test_a_job_running_when_its_worker_stops_goes_back_on_the_queue(
    client, records, start_worker, monkeypatch
):
    coordinator, _ = records
    gate = asyncio.Event()
    write_file = export_run.write_file

    async def held(*args: Any, **kwargs: Any) -> int:  # the export is slow, while the gate is shut
        await gate.wait()
        return await write_file(*args, **kwargs)

    monkeypatch.setattr(export_run, "write_file", held)
    first = await start_worker()
    asked = await client.post(
        JOBS, json={"form": "sidewalk_audit", "format": "xlsx"}, headers=coordinator.headers
    )
    job = asked.json()["id"]
    await until(client, job, coordinator, "running")
    await first.stop(grace=0.2)
    again = await client.get(f"/api/v1/exports/{job}", headers=coordinator.headers)
    assert again.json()["status"] == "queued"

    gate.set()
    await start_worker()
    done = await until(client, job, coordinator, "done", "failed")
    assert done["status"] == "done" and done["rows"] == 5, done


async def test_a_job_that_lost_its_queue_entry_is_queued_again(client, records, start_worker, sessionmaker):
    coordinator, _ = records
    asked = await client.post(
        JOBS, json={"form": "sidewalk_audit", "format": "csv"}, headers=coordinator.headers
    )
    job = asked.json()["id"]
    async with sessionmaker() as db, db.begin():  # its worker died without putting it back, long ago
        await db.execute(
            text(
                "UPDATE export_jobs SET status = 'running', updated_at = now() - interval '1 hour' WHERE id = :id"
            ),
            {"id": job},
        )
        assert (await db.execute(text(f"DELETE FROM {SCHEMA}.pgqueuer"))).rowcount == 1
    await start_worker()
    done = await until(client, job, coordinator, "done", "failed")
    assert done["status"] == "done" and done["rows"] == 5, done
