"""The README's "A first campaign, step by step" block, run by bash as written, against a real server.

Two things differ from a user's terminal, and only these: the server listens on a free port instead of
8000 (the block's `127.0.0.1:8000` is pointed at it), and `survey-api` is this interpreter's
(`.venv/bin/survey-api` of the block is where a user's install puts it). The block runs in a copy of
the repository's `examples/`, so the files it writes land in a temporary directory.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import openpyxl

from benchmarks.harness import Instance
from tests.tools import unavailable

ROOT = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"## A first campaign, step by step.*?```bash\n(.*?)```", readme, re.S)
    assert found, "README has no bash block under 'A first campaign, step by step'"
    return found[1]


def test_the_readme_walkthrough_runs_as_written(instance: Instance, tmp_path: Path) -> None:
    server = instance.serve().wait_ready()
    block = walkthrough()
    assert "S=.venv/bin/survey-api" in block and "127.0.0.1:8000" in block
    cli = " ".join(shlex.quote(part) for part in [sys.executable, "-m", "survey_api.cli"])
    script = block.replace("S=.venv/bin/survey-api", f"S={shlex.quote(cli)}").replace(
        "127.0.0.1:8000", f"127.0.0.1:{server.port}"
    )
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=instance.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr + server.log()
    out = done.stdout
    assert '"status":"published"' in out
    # curl prints each answer without a newline after it: the batch's answer is found by its start
    results = json.JSONDecoder().raw_decode(out, out.index('{"results":'))[0]["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["errors"][0]["code"] == "coordinates_swapped"
    book = openpyxl.load_workbook(tmp_path / "korat-sidewalk_audit.xlsx")
    assert len(list(book["sidewalk_audit"].iter_rows(values_only=True))) == 2  # the header, one record
    features = json.loads((tmp_path / "sidewalk.geojson").read_text())["features"]
    assert len(features) == 1 and features[0]["geometry"]["type"] == "Point"


def tour() -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"## Try the demo.*?A five-minute tour.*?```bash\n(.*?)```", readme, re.S)
    assert found, "README has no five-minute tour under 'Try the demo'"
    return found[1]


def test_the_readme_tour_runs_as_written_and_publishes(instance: Instance, tmp_path: Path) -> None:
    """The demo, a review decision, the xlsx, the index GeoJSON and a publish into a real PostgreSQL."""
    city = f"survey_tour_{uuid.uuid4().hex[:8]}"
    created = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", f"CREATE DATABASE {city}"],
        capture_output=True,
        text=True,
    )
    if created.returncode != 0:
        unavailable(f"no PostgreSQL on 127.0.0.1:5432 to publish to: {created.stderr.strip()}")
    instance.env["SURVEY_CITY_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{city}"
    try:
        server = instance.serve().wait_ready()
        cli = " ".join(shlex.quote(part) for part in [sys.executable, "-m", "survey_api.cli"])
        script = tour().replace("S=.venv/bin/survey-api", f"S={shlex.quote(cli)}")
        script = script.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=instance.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr + server.log()
        out = done.stdout
        assert re.search(r"^Sync: received (\d+) = .* = \1$", out, re.M), out
        assert f"project korat-demo on {server.url}" in out  # the demo used the running server
        assert '"decision":"distinct"' in out.replace(" ", ""), out
        assert '{"tables":[' in out.replace(" ", ""), out  # the publish answered with its tables
        rows = list(
            openpyxl.load_workbook(tmp_path / "korat-demo-sidewalk_audit.xlsx")["sidewalk_audit"].rows
        )
        assert len(rows) > 100
        blocks = json.loads((tmp_path / "blocks.geojson").read_text())["features"]
        assert len(blocks) == 12 and any(b["properties"]["index"] is not None for b in blocks)
    finally:
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc",
             f"DROP DATABASE IF EXISTS {city} WITH (FORCE)"],
            capture_output=True,
        )  # fmt: skip
