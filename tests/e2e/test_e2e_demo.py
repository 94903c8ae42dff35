"""`survey-api demo` from a fresh data dir: it starts its own server, builds the campaign over HTTP,
prints an accounting identity that holds and URLs that answer, and a second run changes nothing."""

import io
import re

import httpx
import openpyxl

from benchmarks.harness import Instance, free_port

STATUSES = [
    "accepted",
    "merged",
    "conflict",
    "merged_duplicate",
    "possible_duplicate",
    "duplicate",
    "rejected",
]


def sync_terms(out: str) -> tuple[int, dict[str, int], int]:
    found = re.search(r"^Sync: received (\d+) = (.+) = (\d+)$", out, re.M)
    assert found, out
    terms = {name: int(n) for name, n in re.findall(r"(\w+) (\d+)", found[2])}
    return int(found[1]), terms, int(found[3])


def line(out: str, start: str) -> str:
    found = re.search(rf"^{start}.*$", out, re.M)
    assert found, out
    return found[0]


def test_demo_builds_once_and_what_it_prints_holds(instance: Instance):
    first = instance.cli("demo", "--url", f"http://127.0.0.1:{free_port()}", timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    received, terms, total = sync_terms(first.stdout)
    assert list(terms) == STATUSES
    assert received == sum(terms.values()) == total
    assert received >= 300
    assert all(terms[s] >= 1 for s in STATUSES), terms  # every messy case happened
    assert "rejected (coordinates_swapped)" in first.stdout
    assert "accepted (buddhist_era_year)" in first.stdout
    assert "is stopped" in first.stdout  # the server it started is gone with it

    server = instance.serve().wait_ready()
    second = instance.cli("demo", "--url", server.url, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "exists already: nothing changed" in second.stdout
    assert "ODK Collect: 3 sidewalk audits with a photo each, answered 3 × 201" in first.stdout
    for start in ("Sync:", "ODK Collect:", "Now:", "  coordinator", "  analyst"):
        assert line(second.stdout, start) == line(first.stdout, start)

    tokens = {role: line(second.stdout, f"  {role} ").split()[1] for role in ("coordinator", "analyst")}
    urls = re.findall(rf"{re.escape(server.url)}\S+", second.stdout)
    assert len(urls) == 10, second.stdout
    [collect] = [u for u in urls if "/openrosa/key/" in u]  # a volunteer's ODK Collect server URL
    form_list = httpx.get(f"{collect}/formList", timeout=60)
    assert form_list.status_code == 200 and "<formID>sidewalk_audit</formID>" in form_list.text
    for url in (u for u in urls if u != collect):
        role = "coordinator" if re.search(r"/review/|/quarantine", url) else "analyst"
        headers = {} if url.endswith("/schema") else {"Authorization": f"Bearer {tokens[role]}"}
        response = httpx.get(url, headers=headers, timeout=60)
        assert response.status_code == 200, f"{url} with the {role}'s token: {response.status_code}"
    index = httpx.get(
        next(u for u in urls if u.endswith("/index/blocks.geojson")),
        headers={"Authorization": f"Bearer {tokens['analyst']}"},
        timeout=60,
    ).json()
    assert len(index["features"]) == 12
    assert any(f["properties"]["index"] is not None for f in index["features"])
    # The photos Collect sent are links in the xlsx export's photo column, and the links download them.
    analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
    workbook = httpx.get(next(u for u in urls if u.endswith("/export.xlsx")), headers=analyst, timeout=60)
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content))["sidewalk_audit"]
    links = [cell.hyperlink.target for row in sheet.iter_rows() for cell in row if cell.hyperlink is not None]
    assert sorted(link.rsplit("/", 1)[1] for link in links) == [f"shopfront-{k}.png" for k in (1, 2, 3)]
    photo = httpx.get(links[0], headers=analyst, timeout=60)
    assert photo.status_code == 200 and photo.content.startswith(b"\x89PNG")
