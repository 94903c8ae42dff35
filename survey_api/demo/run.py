"""`survey-api demo`: build the Korat campaign on a running server (or one started for the purpose),
once; later runs find it and print the same block, `--reset` builds a fresh copy under a new slug."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from survey_api.demo import campaign as c
from survey_api.demo.collect import send_from_collect
from survey_api.demo.fieldwork import AUDIT_V, STATUSES, Field
from survey_api.demo.report import block, live
from survey_api.demo.server import Api, Child, DemoError, answers, make_admin
from survey_api.progress import Progress
from survey_api.settings import Settings

SLUG = "korat-demo"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REQUESTS = 56  # about how many requests a build makes, for the progress bar (Collect's not counted)


def main(args: argparse.Namespace, settings: Settings) -> int:
    state_file = Path(settings.data_dir) / "demo.json"
    state = json.loads(state_file.read_text()) if state_file.is_file() else {}
    child = None
    try:
        url = args.url
        if not answers(url):
            print(f"No server answers at {url}: starting survey-api serve.", file=sys.stderr, flush=True)
            child = Child(url, Path(settings.data_dir) / "demo-serve.log", detach=args.keep_serving)
            child.wait_ready()
            url = child.url
        api = Api(url)
        if state and not args.reset and exists(api, state):
            print(
                f"The demo project {state['slug']} exists already: nothing changed (--reset builds it again)."
            )
        else:
            admin = (
                args.admin_token
                or os.environ.get("SURVEY_ADMIN_TOKEN")
                or make_admin(f"demo-admin-{os.urandom(4).hex()}@example.org")
            )
            state = build(api.as_(admin), state.get("slug") if args.reset else None, settings)
            state_file.parent.mkdir(parents=True, exist_ok=True)
            state_file.write_text(json.dumps(state, ensure_ascii=False, indent=1))
            state_file.chmod(0o600)  # it holds the tokens, which the server shows only once
        print(block(url, state, live(api, state)))
        if child is not None and args.keep_serving:
            print(
                f"The server keeps running (pid {child.process.pid}); stop it with: kill {child.process.pid}"
            )
        elif child is not None:
            print("The server started for the demo is stopped; `survey-api serve` serves these URLs again.")
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if child is not None and not args.keep_serving:
            child.stop()
    return 0


def exists(api: Api, state: dict[str, Any]) -> bool:
    status, _ = api.as_(state["tokens"]["coordinator"]).send("GET", f"/api/v1/projects/{state['slug']}/forms")
    return status == 200


def build(admin: Api, previous: str | None, settings: Settings) -> dict[str, Any]:
    planned = REQUESTS + bool(settings.city_database_url)
    progress = Progress("Building the Korat demo", planned, "requests")
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        progress.update(min(done, planned))

    admin.hook = tick
    slug = new_project(admin, previous)
    base = f"/api/v1/projects/{slug}"
    tokens = people(admin, slug)
    coordinator, analyst = admin.as_(tokens["coordinator"]), admin.as_(tokens["analyst"])
    coordinator.upload(f"{base}/forms", "sidewalk_audit.xlsx", c.audit_workbook(), XLSX)
    coordinator.call("POST", f"{base}/forms/{c.AUDIT}/versions/{AUDIT_V}/publish")
    coordinator.call("PUT", f"{base}/forms/{c.AUDIT}/dedup", {"radius_m": 20, "match_fields": ["shop_name"]})
    coordinator.call("POST", f"{base}/forms", c.spaces_form(1))
    coordinator.call("POST", f"{base}/forms/{c.SPACES}/versions/v1/publish")
    coordinator.call(
        "PUT", f"{base}/forms/{c.SPACES}/dedup", {"radius_m": 15, "match_fields": ["place_name"]}
    )
    coordinator.call("PUT", f"{base}/areas/districts", c.districts())
    coordinator.call("PUT", f"{base}/areas/blocks", c.blocks())
    coordinator.call("PUT", f"{base}/indicators", c.indicators())

    field = Field(admin, slug, tokens)
    field.audits()
    field.spaces(1, 0, 40)
    coordinator.call("POST", f"{base}/forms", c.spaces_form(2))  # mid-campaign: a rename and a new field
    coordinator.call("POST", f"{base}/forms/{c.SPACES}/versions/v2/publish")
    field.spaces(2, 40, 30)
    field.messy()
    collect = send_from_collect(admin, slug, tokens[c.VOLUNTEERS[0]], field.rng)

    sizes = {}
    for layer in ("districts", "blocks"):
        analyst.call("GET", f"{base}/index/{layer}.geojson")
    for fmt in ("xlsx", "csv", "geojson"):
        status, data = analyst.send("GET", f"{base}/forms/{c.AUDIT}/export.{fmt}")
        if status != 200:
            raise DemoError(f"the {fmt} export answered {status}: {data[:300].decode(errors='replace')}")
        sizes[fmt] = len(data)
        tick()
    published = None
    if settings.city_database_url:
        tables = coordinator.call("POST", f"{base}/publish")["tables"]
        published = f"{len(tables)} tables, {sum(t['upserted'] for t in tables)} rows upserted"
    progress.close(f"Built the demo project {slug} in {done} requests.")
    return {
        "slug": slug,
        "tokens": tokens,
        "received": field.received,
        "statuses": {s: field.statuses.get(s, 0) for s in STATUSES},
        "cases": field.cases,
        "collect": collect,
        "exports": sizes,
        "published": published,
    }


def new_project(admin: Api, previous: str | None) -> str:
    """The demo's slug, or the first free one after it (`korat-demo-2`, ...) when rebuilding."""
    n = int(previous.rsplit("-", 1)[1]) + 1 if previous and previous[-1].isdigit() else (2 if previous else 1)
    while True:
        slug = SLUG if n == 1 else f"{SLUG}-{n}"
        body = {
            "slug": slug,
            "name": "Korat old city: sidewalks and public space (demo)",
            "area": c.project_area(),
        }
        status, _ = admin.send("POST", "/api/v1/projects", body)
        if status == 201:
            return slug
        if status != 409:
            admin.call("POST", "/api/v1/projects", body)  # raises with what the server said
        n += 1


def people(admin: Api, slug: str) -> dict[str, Any]:
    """The coordinator (sees personal data), an analyst and the volunteers, each with a token."""

    def person(name: str, role: str, pii: bool = False) -> str:
        made = admin.call("POST", "/api/v1/users", {"email": f"{name}+{slug}@example.org", "name": name})
        admin.call("PUT", f"/api/v1/projects/{slug}/members/{made['id']}", {"role": role, "pii": pii})
        return made["token"]

    tokens: dict[str, Any] = {
        "coordinator": person("coordinator", "coordinator", pii=True),
        "analyst": person("analyst", "analyst"),
    }
    tokens |= {name: person(name, "volunteer") for name in c.VOLUNTEERS}
    return tokens
