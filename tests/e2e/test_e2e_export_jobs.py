"""End to end: export jobs run by the worker inside `serve`, and by `survey-api worker` beside a server
that runs none; a job asked for while no worker runs waits in the queue and is done once one starts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import httpx

from benchmarks.harness import Instance, Server
from tests.e2e.fieldwork import API, auth, call, set_up
from tests.factories import batch, shop


def field(server: Server, admin: str) -> str:
    """The coordinator's token, once a volunteer has pushed three shops."""
    coordinator, [volunteer] = set_up(server, admin, tablets=1)
    with server.client(volunteer) as api:
        items = [shop(f"ร้านที่ {n}", north_m=100.0 * n) for n in range(3)]
        results = call(server, api, "POST", f"{API}/sync", 200, json=batch(*items))["results"]
        assert {r["status"] for r in results} == {"accepted"}
    return coordinator


def follow(server: Server, api: httpx.Client, job: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = call(server, api, "GET", f"/api/v1/exports/{job}", 200)
        if found["status"] in ("done", "failed"):
            return found
        time.sleep(0.1)
    raise AssertionError(f"export job {job} not done in {seconds} s\n{server.explain()}")


def test_serve_runs_export_jobs_in_its_own_process(instance: Instance) -> None:
    admin = instance.create_admin()
    server = instance.serve().wait_ready()
    coordinator = field(server, admin)
    with server.client(coordinator) as api:
        job = call(
            server, api, "POST", f"{API}/exports", 202, json={"form": "sidewalk_audit", "format": "geojson"}
        )
        done = follow(server, api, job["id"])
        assert done["status"] == "done" and done["rows"] == 3, done
        got = api.get(done["file"])
        streamed = api.get(f"{API}/forms/sidewalk_audit/export.geojson")
        assert got.status_code == 200 and json.loads(got.content) == json.loads(streamed.content)
    assert server.stop() == 0
    assert server.failures() == [], server.log()


def test_a_job_waits_for_a_worker_and_survey_api_worker_runs_it(tmp_path) -> None:
    instance = Instance(tmp_path, env={"SURVEY_WORKER": "0"})
    worker: subprocess.Popen[bytes] | None = None
    try:
        admin = instance.create_admin()
        server = instance.serve().wait_ready()
        coordinator = field(server, admin)
        with server.client(coordinator) as api:
            job = call(
                server, api, "POST", f"{API}/exports", 202, json={"form": "sidewalk_audit", "format": "csv"}
            )
            time.sleep(1.0)  # long enough for a worker in `serve` to have taken it, were there one
            assert call(server, api, "GET", f"/api/v1/exports/{job['id']}", 200)["status"] == "queued"
            with (tmp_path / "worker.stderr").open("wb") as err:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "survey_api.cli", "worker"],
                    env=instance.env,
                    stdin=subprocess.DEVNULL,
                    stdout=err,
                    stderr=err,
                )
            done = follow(server, api, job["id"])
            assert done["status"] == "done" and done["rows"] == 3, done
            got = api.get(done["file"], headers=auth(coordinator))
            assert got.status_code == 200 and got.content.startswith(b"PK")  # a zip: the form has a repeat
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, (tmp_path / "worker.stderr").read_text()
        said = (tmp_path / "worker.stderr").read_text()
        assert "ERROR" not in said and "Traceback" not in said, said
        assert server.stop() == 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait(10)
        instance.teardown()
