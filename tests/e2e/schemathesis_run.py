"""Fuzz the real server from its own OpenAPI document with schemathesis; `.ci/run` runs it.

It sits with the end-to-end tests because it is one (the real `survey-api serve` on the embedded
PostgreSQL in a fresh `SURVEY_DATA_DIR`, started by `tests/e2e/server.py`), but it is a script, not
a pytest test: it spends a time budget and reports per operation, which is schemathesis's own CLI's
work. Before the run it makes an admin, a project and publishes the form of the document's example,
so the documented bodies reach the intake instead of stopping at a 404.

Fails (non-zero exit) on any 5xx and on any error that is not a problem document
(`schemathesis_hooks.py`). The server's logged tracebacks are printed after the run.

    .venv/bin/python -m tests.e2e.schemathesis_run [--seconds 180] [--examples 25] [-- --report vcr]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.e2e.server import Instance, Server

HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
PROJECT = "fuzz"


def prepare(server: Server, token: str) -> dict[str, str]:
    """A project and the document's example form, published; the path parameters that name them."""
    with server.client(token) as api:
        document = api.get("/schema/openapi.json").json()
        upload = document["paths"]["/api/v1/projects/{project}/forms"]["post"]["requestBody"]
        [example] = upload["content"]["application/json"]["examples"].values()
        form = example["value"]
        steps = [
            ("POST", "/api/v1/projects", {"slug": PROJECT, "name": "Fuzzing"}),
            ("POST", f"/api/v1/projects/{PROJECT}/forms", form),
            (
                "POST",
                f"/api/v1/projects/{PROJECT}/forms/{form['key']}/versions/{form['version']}/publish",
                None,
            ),
        ]
        for method, path, body in steps:
            response = api.request(method, path, json=body)
            if response.status_code not in (200, 201):
                raise SystemExit(f"setting up the run failed:\n{server.explain(response)}")
    return {"project": PROJECT, "key": form["key"], "version": form["version"]}


def fuzz(
    server: Server, token: str, known: dict[str, str], seconds: int, examples: int, extra: list[str]
) -> int:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server.url}/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
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
        # Revoking the token in use would turn the rest of the run into 401s.
        "--exclude-operation-id",
        "ApiV1AuthTokenLogout",
        "--continue-on-failure",  # every distinct failure of an operation, not only its first
        "--no-color",
        *extra,
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "SURVEY_FUZZ_PARAMETERS": json.dumps(known)}
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
        known = prepare(server, token)
        code = fuzz(server, token, known, args.seconds, args.examples, args.extra)
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
