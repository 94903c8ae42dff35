"""Fuzz the real server from its own OpenAPI document with schemathesis; `.ci/run` runs it.

It sits with the end-to-end tests because it is one (the real `survey-api serve` on the embedded
PostgreSQL in a fresh `SURVEY_DATA_DIR`, started by `benchmarks/harness.py`), but it is a script, not
a pytest test: it spends a time budget and reports per operation, which is schemathesis's own CLI's
work. Before the run it makes an admin and a project, publishes the document's example form and
pushes its example batch, and the fuzzer mostly uses the ids so made: requests reach the handlers
instead of stopping at a 404.

Fails (non-zero exit) on any 5xx and on any error that is not a problem document
(`schemathesis_hooks.py`). The server's logged tracebacks are printed after the run.

    .venv/bin/python -m tests.e2e.schemathesis_run [--seconds 180] [--examples 25] [-- --report vcr]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.harness import Instance, Server

HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
PROJECT = "fuzz"


def prepare(server: Server, token: str) -> tuple[dict[str, str], dict[str, Any]]:
    """An admin who logs in; a project, the document's example form published and its example batch
    pushed, a near twin (a duplicate pair) and an unknown form's item (the quarantine).

    Returns the admin's login and the path parameters that name what was made.
    """
    login = {"email": "fuzz@example.org", "password": secrets.token_urlsafe(16)}
    with server.client(token) as api:

        def call(method: str, path: str, body: Any = None) -> Any:
            response = api.request(method, f"/api/v1{path}", json=body)
            if response.status_code not in (200, 201, 202):
                raise SystemExit(f"setting up the run failed:\n{server.explain(response)}")
            return response.json()

        paths = api.get("/schema/openapi.json").json()["paths"]
        form = example(paths["/api/v1/projects/{project}/forms"]["post"])
        batch = example(paths["/api/v1/projects/{project}/sync"]["post"])
        admin = call("POST", "/users", {**login, "admin": True})
        call("POST", "/projects", {"slug": PROJECT, "name": "Fuzzing"})
        call("POST", f"/projects/{PROJECT}/forms", form)
        call("POST", f"/projects/{PROJECT}/forms/{form['key']}/versions/{form['version']}/publish")
        [item] = batch["submissions"]
        twin = {**item, "uuid": str(uuid.uuid4()), "answers": {**item["answers"], "width_m": 2.4}}
        stray = {**item, "uuid": str(uuid.uuid4()), "form": "no_such_form"}
        results = call("POST", f"/projects/{PROJECT}/sync", {**batch, "submissions": [item, twin, stray]})
        known = {
            "project": PROJECT,
            "key": form["key"],
            "version": form["version"],
            "user_id": admin["id"],
            "record_id": results["results"][0]["record_id"],
            "submission": item["uuid"],  # its files: PUT and GET .../attachments/{filename}
        }
        pairs = call("GET", f"/projects/{PROJECT}/review/duplicates")["items"]
        quarantined = call("GET", f"/projects/{PROJECT}/quarantine")["items"]
        known |= {"pair_id": pairs[0]["id"]} if pairs else {}
        known |= {"submission_id": quarantined[0]["id"]} if quarantined else {}
        job = call("POST", f"/projects/{PROJECT}/exports", {"form": form["key"], "format": "csv"})
        known |= {"job_id": job["id"]}  # done by the server's worker within moments, then downloadable
    return login, known


def example(operation: dict[str, Any]) -> Any:
    [first] = operation["requestBody"]["content"]["application/json"]["examples"].values()
    return first["value"]


def fuzz(
    server: Server,
    login: dict[str, str],
    known: dict[str, Any],
    seconds: int,
    examples: int,
    extra: list[str],
) -> int:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server.url}/schema/openapi.json",
        "--checks",
        "not_a_server_error,problem_documents",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-time",
        str(seconds),
        "--max-examples",
        str(examples),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        # Revoking the token in use at every other request would leave little else tested.
        "--exclude-operation-id",
        "ApiV1AuthTokenLogout",
        "--continue-on-failure",  # every distinct failure of an operation, not only its first
        "--no-color",
        *extra,
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "SURVEY_FUZZ_PARAMETERS": json.dumps(known),
        "SURVEY_FUZZ_LOGIN": json.dumps({"url": server.url, **login}),
    }
    # In the logs dir: schemathesis keeps a cache of its crashes in the directory it runs in.
    return subprocess.run(command, env=env, cwd=server.instance.logs_dir, check=False).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SURVEY_FUZZ_SECONDS", 180)))
    parser.add_argument("--examples", type=int, default=25, help="at most this many cases per operation")
    parser.add_argument("extra", nargs="*", help="after --: more options for `schemathesis run`")
    args = parser.parse_args()
    instance = Instance(Path(tempfile.mkdtemp(prefix="survey-fuzz-logs-")))
    started = time.monotonic()
    try:
        token = instance.create_admin()
        server = instance.serve()
        server.wait_ready()
        login, known = prepare(server, token)
        code = fuzz(server, login, known, args.seconds, args.examples, args.extra)
        failures = server.failures()
        print(f"== schemathesis exited {code} after {time.monotonic() - started:.0f} s")
        print(f"== the server logged {len(failures)} error(s); its log: {server.stderr}")
        for entry in failures:
            print(entry[-3000:], end="\n\n")
        return code
    finally:
        instance.teardown()


if __name__ == "__main__":
    sys.exit(main())
