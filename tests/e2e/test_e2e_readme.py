"""The README's "A first campaign, step by step" block (an ODK Collect submission with its photo included), run by bash as written, against a real server.

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
import zipfile
from pathlib import Path

import httpx
import openpyxl

from benchmarks.harness import Instance, Server
from tests.e2e.fieldwork import fresh_database

ROOT = Path(__file__).resolve().parents[2]


def block(heading: str) -> str:
    """The first bash block after the README's `heading` (a regular expression)."""
    found = re.search(heading + r".*?```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert found, f"README has no bash block after {heading!r}"
    return found[1]


def run(script: str, instance: Instance, server: Server, cwd: Path) -> str:
    """The block by bash as written but for the port and the path of `survey-api`; its stdout."""
    assert "S=.venv/bin/survey-api" in script and "127.0.0.1:8000" in script
    cli = " ".join(shlex.quote(part) for part in [sys.executable, "-m", "survey_api.cli"])
    script = script.replace("S=.venv/bin/survey-api", f"S={shlex.quote(cli)}")
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=instance.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr + server.log()
    return done.stdout


def test_the_readme_walkthrough_runs_as_written(instance: Instance, tmp_path: Path) -> None:
    server = instance.serve().wait_ready()
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    out = run(block("## A first campaign, step by step"), instance, server, tmp_path)
    assert '"status":"published"' in out
    # curl prints each answer without a newline after it: the batch's answer is found by its start
    results = json.JSONDecoder().raw_decode(out, out.index('{"results":'))[0]["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["errors"][0]["code"] == "coordinates_swapped"
    assert "<formID>sidewalk_audit</formID>" in out  # Collect's form list
    assert (tmp_path / "tablet.png").read_bytes().startswith(b"\x89PNG")
    assert '<message nature="submit_success">' in out  # the instance Collect sent was stored
    sheet = openpyxl.load_workbook(tmp_path / "korat-sidewalk_audit.xlsx")["sidewalk_audit"]
    rows = list(sheet.iter_rows())
    assert len(rows) == 3  # the header, the batch's record and the one from Collect
    links = [cell.hyperlink.target for row in rows[1:] for cell in row if cell.hyperlink is not None]
    assert len(links) == 1 and links[0].endswith("/attachments/shopfront.png"), links
    checker = instance.create_admin("checker@korat.go.th")
    photo = httpx.get(links[0], headers={"Authorization": f"Bearer {checker}"})
    assert photo.content == (ROOT / "examples" / "shopfront.png").read_bytes()
    features = json.loads((tmp_path / "sidewalk.geojson").read_text())["features"]
    assert len(features) == 2 and {f["geometry"]["type"] for f in features} == {"Point"}
    with zipfile.ZipFile(tmp_path / "sidewalk-photos.zip") as bundle:
        names = bundle.namelist()
        photo_path = "media/7d2c5e10-4b1a-4f3e-9c55-0a8e2f61b3d4/shopfront.png"
        assert names[0].endswith(".xlsx") and photo_path in names, names
        assert bundle.read(photo_path) == (ROOT / "examples" / "shopfront.png").read_bytes()


def test_the_readme_tour_runs_as_written_and_publishes(instance: Instance, tmp_path: Path) -> None:
    """The demo, a review decision, the xlsx, the index GeoJSON and a publish into a real PostgreSQL."""
    with fresh_database("survey_tour") as city:
        instance.env["SURVEY_CITY_DATABASE_URL"] = city
        server = instance.serve().wait_ready()
        out = run(block("## Try the demo.*?A five-minute tour"), instance, server, tmp_path)
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
