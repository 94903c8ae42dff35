"""The block the demo prints: tokens, the URLs to open with them, and what happened, counted twice over
(the sync results kept from the build, and the project as the server shows it now)."""

from __future__ import annotations

from typing import Any

from survey_api.demo import campaign as c
from survey_api.demo.fieldwork import STATUSES
from survey_api.demo.server import Api


def count(api: Api, path: str) -> int:
    """Items of a paged list, every page followed."""
    total, cursor = 0, None
    while True:
        page = api.call("GET", path + (f"&cursor={cursor}" if cursor else ""))
        total += len(page["items"])
        if not (cursor := page.get("next")):
            return total


def live(api: Api, state: dict[str, Any]) -> dict[str, int]:
    """What the server holds for the demo project now: a second run must find the same."""
    base = f"/api/v1/projects/{state['slug']}"
    coordinator = api.as_(state["tokens"]["coordinator"])
    analyst = api.as_(state["tokens"]["analyst"])
    index = analyst.call("GET", f"{base}/index/blocks.geojson")
    return {
        "sidewalk records": count(coordinator, f"{base}/forms/{c.AUDIT}/records?limit=1000"),
        "public space records": count(coordinator, f"{base}/forms/{c.SPACES}/records?limit=1000"),
        "pairs to review": count(coordinator, f"{base}/review/duplicates?decided=false&limit=1000"),
        "automatic merges": count(coordinator, f"{base}/review/duplicates?decided=true&limit=1000"),
        "conflicts": len(coordinator.call("GET", f"{base}/review/conflicts").get("items", [])),
        "quarantined": count(coordinator, f"{base}/quarantine?limit=1000"),
        "blocks in the index": len(index["features"]),
    }


def block(url: str, state: dict[str, Any], now: dict[str, int]) -> str:
    base = f"{url}/api/v1/projects/{state['slug']}"
    tokens = state["tokens"]
    volunteers = [name for name in c.VOLUNTEERS if name in tokens]
    statuses = state["statuses"]
    terms = " + ".join(f"{s} {statuses[s]}" for s in STATUSES)
    total = sum(statuses.values())
    sign = "=" if total == state["received"] else "≠"
    lines = [
        "",
        f"Korat demo: project {state['slug']} on {url}",
        "",
        "Tokens (send as  Authorization: Bearer TOKEN)",
        f"  coordinator  {tokens['coordinator']}",
        f"  analyst      {tokens['analyst']}",
        *(f"  volunteer    {tokens[v]}  ({v})" for v in volunteers),
        "",
        f"Open (no token)          {url}/schema   (the API, with a page to try it)",
        "Open with the coordinator's token",
        f"  duplicates to review   {base}/review/duplicates?decided=false",
        f"  conflicts              {base}/review/conflicts",
        f"  quarantine             {base}/quarantine",
        "Open with the analyst's token",
        *(
            f"  export ({fmt:<7})       {base}/forms/{c.AUDIT}/export.{fmt}"
            for fmt in ("xlsx", "csv", "geojson")
        ),
        f"  index GeoJSON          {base}/index/blocks.geojson",
        f"  index by district      {base}/index/districts.geojson",
        "ODK Collect or KoboCollect (server URL, no username; a tablet needs the machine's LAN address)",
        *(f"  {v:<22} {url}/openrosa/key/{tokens[v]}/projects/{state['slug']}" for v in volunteers[:1]),
        f"  as a QR code           survey-api collect-qr --url {url} --project {state['slug']} --token TOKEN",
        "",
        f"Sync: received {state['received']} {sign} {terms} = {total}",
        *(f"  {case:<28} {status}" for case, status in state["cases"].items()),
        *(
            [
                f"ODK Collect: {sum(state['collect'].values())} sidewalk audits with a photo each, answered "
                + ", ".join(f"{n} × {status}" for status, n in sorted(state["collect"].items()))
                + " (the photo links are in the xlsx export)"
            ]
            if state.get("collect")
            else []
        ),
        "Exports when built: "
        + ", ".join(f"{fmt} {size / 1024:.0f} kB" for fmt, size in state["exports"].items()),
        "Now: " + ", ".join(f"{name} {n}" for name, n in now.items()),
        f"City database: {state['published'] or 'not configured (set SURVEY_CITY_DATABASE_URL to publish)'}",
    ]
    return "\n".join(lines)
