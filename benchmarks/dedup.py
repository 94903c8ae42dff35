"""Duplicate detection: quality on a campaign with known truth, and candidate lookup cost by form size.

Quality: starts the real `survey-api serve` (embedded PostgreSQL in a temp dir unless `--database-url`)
and, for each named policy set, makes a project with a `shops` and a `trees` form, PUTs the policies,
pushes the campaign of `benchmarks/campaign.py` through the sync endpoint one device-day batch at a
time in time order, and scores every item result against the truth. A record's entity is the entity of
the submission that made it; a positive is a survey of an entity that already has a record. Reported:
precision and recall of the automatic merges (`merged_duplicate`) and of the review queue
(`possible_duplicate`, right when `duplicate_of` is a record of the same entity), wrong merges, the
score histogram of true vs false pairs, the open queue's breakdowns; double taps apart.

Lookup: COPYs records of one form straight into `records`, VACUUM ANALYZE, then times the server's own
`survey_api.stores.duplicates.candidates` on `--batch-size`-item batches built as `place` builds
them (`survey_api.intake.placement.search` probes, one content hash per item), over populated land
and over an empty area 100 km away (the bare index descents), and EXPLAINs one batch. By default
the form grows as a city campaign does, district by district (`--grow wider`: each 10k records cover
a new 6.3 km square, 250 per km², so the density around any item stays the same while n grows);
`--grow denser` puts every record in one `--side-km` square, so the candidates per item, and the
cost, grow with the density. One JSON object on stdout.

    .venv/bin/python benchmarks/dedup.py                       # ~3 min on the 2-core machine
    .venv/bin/python benchmarks/dedup.py --sizes 10000,100000 --policies recommended --seed 2
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import msgspec
from campaign import ICT, VERSION, Campaign, Planned, generate
from harness import HarnessError, Instance, asyncpg_dsn, log
from sqlalchemy import text

from survey_api.db.engine import make_engine
from survey_api.db.session import make_sessionmaker
from survey_api.intake.placement import search
from survey_api.stores.duplicates import candidates
from sync.dedup import W_DISTANCE, haversine_m, text_similarity
from sync.folding import CELL_M
from sync.grid import cell_key, neighbour_cells

API = "/api/v1"
REVIEW_ONLY = 1.0  # the highest auto_merge_score allowed: only a perfect match on the very spot folds
POLICIES: dict[str, dict[str, dict[str, Any]]] = {
    "api_default": {
        "shops": {"match_fields": ["shop_name"]},
        "trees": {"match_fields": ["species", "girth_cm"]},
    },
    "recommended": {
        "shops": {"radius_m": 40, "match_fields": ["shop_name"], "auto_merge_score": 0.9, "review_score": 0.6},
        "trees": {"radius_m": 30, "match_fields": ["species", "girth_cm"], "auto_merge_score": REVIEW_ONLY,
                  "review_score": 0.5},
    },
}  # fmt: skip
FORMS = [
    {"key": "shops", "title": {"th": "ร้านค้า", "en": "Shops"}, "fields": [{"name": "shop_name", "type": "text"}]},
    {"key": "trees", "title": {"th": "ต้นไม้", "en": "Trees"},
     "fields": [{"name": "species", "type": "text"}, {"name": "girth_cm", "type": "integer"}]},
    {"key": "lookup", "title": "Lookup cost", "fields": [{"name": "shop_name", "type": "text"}]},
]  # fmt: skip
# The least name similarity that reaches auto_merge_score 0.9 at distance 0.
AUTO_REACHABLE = round((0.9 - W_DISTANCE) / (1 - W_DISTANCE), 3)


def ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise HarnessError(f"{response.request.method} {response.request.url}: {response.text[:2000]}")
    return response.json()


def set_up(api: httpx.Client, slug: str, policies: dict[str, dict[str, Any]]) -> None:
    ok(api.post(f"{API}/projects", json={"slug": slug, "name": f"Dedup benchmark {slug}"}))
    for form in FORMS:
        location = {"name": "location", "type": "geopoint", "required": True}
        body = {**form, "version": VERSION, "fields": [location, *form["fields"]]}
        ok(api.post(f"{API}/projects/{slug}/forms", json=body))
        ok(api.post(f"{API}/projects/{slug}/forms/{form['key']}/versions/{VERSION}/publish"))
        if form["key"] in policies:
            ok(api.put(f"{API}/projects/{slug}/forms/{form['key']}/dedup", json=policies[form["key"]]))


def push(api: httpx.Client, slug: str, camp: Campaign) -> list[tuple[Planned, dict[str, Any]]]:
    """Every batch in sync order, one at a time; each planned submission with its item result."""
    judged: list[tuple[Planned, dict[str, Any]]] = []
    for n, batch in enumerate(camp.batches, 1):
        body = {
            "device_id": batch.device,
            "sent_at": datetime.now(ICT).isoformat(),
            # uuids are unique server-wide: each project gets its own, stable for a seed.
            "submissions": [
                p.submission | {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{slug}/{p.submission['uuid']}"))}
                for p in batch.items
            ],
        }
        results = ok(api.post(f"{API}/projects/{slug}/sync", content=msgspec.json.encode(body)))["results"]
        judged += zip(batch.items, results, strict=True)
        if n % 32 == 0:
            log(f"{slug}: {n}/{len(camp.batches)} batches pushed")
    return judged


def judge(judged: list[tuple[Planned, dict[str, Any]]]) -> dict[str, Any]:
    """Precision and recall of merges and of the review queue, overall and per kind."""
    owner: dict[str, Planned] = {}  # record id -> the submission that made it
    recorded: set[str] = set()
    outcomes: list[dict[str, Any]] = []
    for planned, result in judged:
        target = owner.get(result.get("duplicate_of") or "")
        outcomes.append(
            {
                "planned": planned,
                "positive": planned.entity in recorded,
                "status": result["status"],
                "same": target is not None and target.entity == planned.entity,
                "score": result.get("score"),
                "into": target,
            }
        )
        if result["status"] in ("accepted", "possible_duplicate"):
            owner[result["record_id"]] = planned
            recorded.add(planned.entity)
    surveys = [o for o in outcomes if not o["planned"].double_tap]
    taps = [o for o in outcomes if o["planned"].double_tap]
    flagged = [o for o in surveys if o["score"] is not None]
    return {
        "all": summary(surveys),
        "shops": summary([o for o in surveys if o["planned"].kind == "shop"]),
        "trees": summary([o for o in surveys if o["planned"].kind == "tree"]),
        "double_taps": {
            "submissions": len(taps),
            "merged_into_the_right_record": sum(o["status"] == "merged_duplicate" and o["same"] for o in taps),
            "statuses": dict(Counter(o["status"] for o in taps)),
        },
        "score_histogram": {
            kind: histogram([o for o in flagged if o["planned"].kind == kind]) for kind in ("shop", "tree")
        },
        "wrong_merges": [example(o) for o in flagged if o["status"] == "merged_duplicate" and not o["same"]][:10],
        "missed_examples": [example(o) for o in surveys if o["positive"] and o["status"] == "accepted"][:5],
    }  # fmt: skip


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    positives = sum(o["positive"] for o in rows)
    merges = [o for o in rows if o["status"] == "merged_duplicate"]
    queued = [o for o in rows if o["status"] == "possible_duplicate"]
    merged_right, queued_right = sum(o["same"] for o in merges), sum(o["same"] for o in queued)
    return {
        "submissions": len(rows),
        "re_surveys": positives,
        "statuses": dict(Counter(o["status"] for o in rows)),
        "auto_merge": {
            "merges": len(merges),
            "wrong": len(merges) - merged_right,
            "wrong_of_a_first_survey": sum(not o["positive"] for o in merges),
            "precision": ratio(merged_right, len(merges)),
            "recall": ratio(merged_right, positives),
        },
        "review": {
            "queued": len(queued),
            "right_pair": queued_right,
            "precision": ratio(queued_right, len(queued)),
            "recall": ratio(queued_right, positives),
        },
        "combined_recall": ratio(merged_right + queued_right, positives),
        "re_surveys_made_new_records": sum(o["positive"] and o["status"] == "accepted" for o in rows),
    }


def histogram(rows: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Scores of flagged items (merged or queued) in 0.05 bins: [true pairs, false pairs]."""
    bins: dict[str, list[int]] = {}
    for o in sorted(rows, key=lambda o: o["score"]):
        cell = bins.setdefault(f"{min(0.95, int(o['score'] * 20) / 20):.2f}", [0, 0])
        cell[0 if o["same"] else 1] += 1
    return bins


def example(o: dict[str, Any]) -> dict[str, Any]:
    def shown(planned: Planned | None) -> Any:
        if planned is None:
            return None
        return {k: v for k, v in planned.submission["answers"].items() if k != "location"}

    into = o["into"]
    return {
        "entity": o["planned"].entity,
        "score": o["score"],
        "incoming": shown(o["planned"]),
        "into": shown(into),
        "into_entity": into.entity if into else None,
    }


def ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def queue(api: httpx.Client, slug: str, judged: list[tuple[Planned, dict[str, Any]]]) -> dict[str, Any]:
    """The open review queue as a coordinator sees it: breakdowns of true vs false pairs."""
    owner = {r["record_id"]: p.entity for p, r in judged if r["status"] in ("accepted", "possible_duplicate")}
    pairs, cursor = [], None
    while True:
        params = {"decided": "false", "limit": 1000} | ({"cursor": cursor} if cursor else {})
        page = ok(api.get(f"{API}/projects/{slug}/review/duplicates", params=params))
        pairs += page["items"]
        if not (cursor := page["next"]):
            break
    found: dict[str, Any] = {"open_pairs": len(pairs)}
    for truth in (True, False):
        chosen = [p for p in pairs if (owner.get(p["record_id"]) == owner.get(p["candidate_id"])) is truth]
        found["true_pairs" if truth else "false_pairs"] = {
            "count": len(chosen),
            "median_score": median([p["score"] for p in chosen]),
            "median_distance_m": median([p["breakdown"]["distance_m"] for p in chosen]),
            "median_field_similarity": median([s for p in chosen for s in p["breakdown"]["fields"].values()]),
            "with_a_missing_field": sum(bool(p["breakdown"]["missing"]) for p in chosen),
        }
    return found


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def difficulty(camp: Campaign, radius_m: float = 30.0) -> dict[str, Any]:
    """How hard the campaign is: different entities within `radius_m` of each other, and how alike the
    names of one shop's surveys are vs those of neighbouring shops (by the server's text similarity)."""
    names: dict[str, list[str]] = {}
    for planned in (p for b in camp.batches for p in b.items if not p.double_tap):
        if name := planned.submission["answers"].get("shop_name"):
            names.setdefault(planned.entity, []).append(name)
    by_cell: dict[tuple[str, int, int], list[Any]] = {}
    for e in camp.entities.values():
        by_cell.setdefault((e.kind, *cell_key(e.lat, e.lon, CELL_M)), []).append(e)
    close: Counter[str] = Counter()
    neighbours: list[float] = []
    for e in camp.entities.values():
        for x, y in neighbour_cells(e.lat, e.lon, radius_m, CELL_M):
            for o in by_cell.get((e.kind, x, y), ()):
                if o.id > e.id and haversine_m(e.lat, e.lon, o.lat, o.lon) <= radius_m:
                    close[e.kind] += 1
                    pairs = itertools.product(names.get(e.id, ()), names.get(o.id, ()))
                    neighbours += [text_similarity(a, b) for a, b in pairs]
    same = [text_similarity(a, b) for n in names.values() for a, b in itertools.combinations(n, 2)]
    return {
        f"entity_pairs_within_{radius_m:g}m": dict(close),
        "shop_name_pairs": {
            "same_shop": len(same),
            "neighbouring_shops": len(neighbours),
            "auto_reachable_similarity": AUTO_REACHABLE,
            "same_shop_reaching_it": ratio(sum(s >= AUTO_REACHABLE for s in same), len(same)),
            "neighbouring_shops_reaching_it": sum(s >= AUTO_REACHABLE for s in neighbours),
            "neighbouring_shops_at_or_over_0.7": sum(s >= 0.7 for s in neighbours),
        },
    }


# --- lookup cost ---------------------------------------------------------------------------------------

COLUMNS = [
    "id", "project_id", "form_id", "form_version", "revision", "status", "answers", "issues", "lat", "lon",
    "accuracy", "cell_x", "cell_y", "observations", "content_hash", "device_id", "observed_at",
]  # fmt: skip
NAMES = ["ร้านข้าวแกงป้าศรี", "ร้านก๋วยเตี๋ยวเรือลุงชัย", "ส้มตำยายหนู", "7-Eleven", "ร้านกาแฟบ้านสวน", "Korat Bakery"]


DISTRICT = 10_000  # records per district when the form grows `--grow wider`


def point(
    rng: random.Random, side_km: float, north_km: float = 0.0, east_km: float = 0.0
) -> tuple[float, float]:
    half = side_km * 500.0
    lat = 14.97 + (north_km * 1000 + rng.uniform(-half, half)) / 111_195.0
    return lat, 102.08 + (east_km * 1000 + rng.uniform(-half, half)) / 107_440.0


def rows(
    rng: random.Random, n: int, project: uuid.UUID, form: uuid.UUID, side_km: float, at: tuple[float, float]
) -> list[tuple]:
    """`n` live records as the intake writes them, spread uniformly over the square centred `at` km."""
    out = []
    now = datetime.now(ICT)
    for _ in range(n):
        lat, lon = point(rng, side_km, *at)
        accuracy = round(rng.uniform(3, 15), 1)
        answers = {"location": {"lat": lat, "lon": lon, "accuracy": accuracy}, "shop_name": rng.choice(NAMES)}
        out.append(
            (
                uuid.UUID(int=rng.getrandbits(128), version=4), project, form, VERSION, 1, "ok",
                msgspec.json.encode(answers).decode(), "[]", lat, lon, accuracy, *cell_key(lat, lon, CELL_M), 1,
                rng.randbytes(32).hex(), f"tablet-{rng.randrange(50):02d}", now,
            )
        )  # fmt: skip
    return out


def batch(rng: random.Random, form: uuid.UUID, args: Any, north_km: float) -> tuple[list, list, list]:
    """A batch as `place` asks for it: each item's index probes (`search`) and its content hash.

    Over the first district (`--grow wider`) or the one square (`denser`); `north_km` < 0 is empty land.
    """
    side = args.district_km if args.grow == "wider" else args.side_km
    points = [point(rng, side, north_km) for _ in range(args.batch_size)]
    probes = [search(form, lat, lon, args.radius) for lat, lon in points]
    return points, probes, [(form, rng.randbytes(32).hex()) for _ in points]


async def time_batches(
    sessions: Any, form: uuid.UUID, rng: random.Random, args: Any, north_km: float
) -> dict:
    per_item: list[float] = []
    fetched, cells, near = [], [], []
    for n in range(args.lookup_batches + 3):
        points, probes, hashes = batch(rng, form, args, north_km)
        async with sessions() as session, session.begin():
            began = time.perf_counter()
            found = await candidates(
                session, [p for item in probes for p in item], hashes, {form: ["shop_name"]}
            )
            spent = time.perf_counter() - began
        if n < 3:  # warm-up: plans, pool connections
            continue
        per_item.append(spent / args.batch_size * 1e6)
        fetched.append(len(found) / args.batch_size)
        by_cell: dict[tuple[int, int], list[tuple[float, float]]] = {}
        for row in found:
            by_cell.setdefault(cell_key(row[2], row[3], CELL_M), []).append((row[2], row[3]))
        for (lat, lon), item in zip(points, probes, strict=True):
            mine = [q for p in item for q in by_cell.get((p[1], p[2]), ())]
            near.append(sum(haversine_m(lat, lon, a, b) <= args.radius for a, b in mine))
            cells.append(len(item))
    return {
        "per_item_us_median": round(statistics.median(per_item), 1),
        "per_item_us_p95": round(sorted(per_item)[int(0.95 * (len(per_item) - 1))], 1),
        "probes_per_item": round(statistics.fmean(cells), 2),
        "rows_fetched_per_item": round(statistics.fmean(fetched), 2),
        "within_radius_per_item": round(statistics.fmean(near), 3),
    }


class Explaining:
    """Stands in for the session so that `candidates` runs its own statement under EXPLAIN ANALYZE."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def execute(self, statement: Any, params: dict[str, Any]) -> Any:
        return await self.session.execute(
            text("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement.text), params
        )


async def explain(sessions: Any, form: uuid.UUID, rng: random.Random, args: Any) -> dict[str, Any]:
    _, probes, hashes = batch(rng, form, args, 0.0)
    async with sessions() as session, session.begin():
        found = (
            await candidates(
                Explaining(session), [p for item in probes for p in item], hashes, {form: ["shop_name"]}
            )
        )[0][0]
    plan = json.loads(found if isinstance(found, str) else bytes(found))[0]  # json arrives as msgspec.Raw
    nodes: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        label = node["Node Type"]
        if "Index Name" in node:
            label += f" using {node['Index Name']}"
        if "Relation Name" in node or "Function Name" in node:
            label += f" on {node.get('Relation Name') or node.get('Function Name')}"
        label += f" (rows={node.get('Actual Rows')} loops={node.get('Actual Loops')}"
        if "Rows Removed by Filter" in node:
            label += f" removed_by_filter={node['Rows Removed by Filter']}"
        nodes.append("  " * depth + label + ")")
        for child in node.get("Plans", ()):
            walk(child, depth + 1)

    walk(plan["Plan"], 0)
    return {
        "nodes": nodes,
        "execution_ms": round(plan["Execution Time"], 2),
        "shared_blocks_hit": plan["Plan"].get("Shared Hit Blocks"),
        "shared_blocks_read": plan["Plan"].get("Shared Read Blocks"),
    }


async def lookup(sa_url: str, dsn: str, slug: str, args: Any) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    engine = make_engine(sa_url, pool_size=2, max_overflow=0)
    sessions = make_sessionmaker(engine)
    rng = random.Random(args.seed + 100)
    sizes = []
    try:
        form, project = await conn.fetchrow(
            "SELECT f.id, f.project_id FROM forms f JOIN projects p ON p.id = f.project_id "
            "WHERE p.slug = $1 AND f.key = 'lookup'",
            slug,
        )
        shared_buffers = await conn.fetchval("SHOW shared_buffers")
        loaded = 0
        for size in args.sizes:
            log(f"lookup: loading up to {size:,} records ...")
            began = time.perf_counter()
            while loaded < size:
                if args.grow == "wider":  # a new district beside the others: density stays the same
                    district = loaded // DISTRICT
                    step = args.district_km + 1.0
                    at = ((district // 10) * step, (district % 10) * step)
                    chunk = rows(rng, min(DISTRICT, size - loaded), project, form, args.district_km, at)
                else:  # the same square, denser
                    chunk = rows(rng, min(100_000, size - loaded), project, form, args.side_km, (0.0, 0.0))
                await conn.copy_records_to_table("records", records=chunk, columns=COLUMNS)
                loaded += len(chunk)
            load_s = time.perf_counter() - began
            await conn.execute("VACUUM (ANALYZE) records")
            table_mb, index_mb = await conn.fetchrow(
                "SELECT pg_table_size('records') / 1048576.0, pg_relation_size('ix_records_form_cell') / 1048576.0"
            )
            density = DISTRICT / args.district_km**2 if args.grow == "wider" else loaded / args.side_km**2
            figures = {
                "records": loaded,
                "per_km2": round(density),
                "per_100m_cell": round(density / 100, 2),
                "copy_seconds": round(load_s, 1),
                "table_mb": round(float(table_mb)),
                "cell_index_mb": round(float(index_mb), 1),
                "populated": await time_batches(sessions, form, rng, args, 0.0),
                "empty_area": await time_batches(sessions, form, rng, args, -100.0),
                "plan": await explain(sessions, form, rng, args),
            }
            log(f"lookup at {loaded:,}: {figures['populated']}; empty area {figures['empty_area']}")
            sizes.append(figures)
    finally:
        await conn.close()
        await engine.dispose()
    return {
        "shared_buffers": shared_buffers,
        "grow": args.grow,
        "side_km": args.district_km if args.grow == "wider" else args.side_km,
        "radius_m": args.radius,
        "cell_m": CELL_M,
        "batch_size": args.batch_size,
        "batches_per_size": args.lookup_batches,
        "sizes": sizes,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shops", type=int, default=3000)
    parser.add_argument("--trees", type=int, default=1500)
    parser.add_argument("--campaign-km", type=float, default=4.0, help="side of the campaign's square")
    parser.add_argument("--policies", default=",".join(POLICIES), help=f"of {', '.join(POLICIES)}")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="lookup form sizes; '' skips")
    parser.add_argument(
        "--grow",
        choices=["wider", "denser"],
        default="wider",
        help="wider (default): every 10k records cover a new district, density constant; denser: one square",
    )
    parser.add_argument("--district-km", type=float, default=6.3, help="side of a district (wider)")
    parser.add_argument("--side-km", type=float, default=20.0, help="side of the one square (denser)")
    parser.add_argument("--radius", type=float, default=40.0, help="lookup radius_m")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--lookup-batches", type=int, default=40, help="timed batches per size and area")
    parser.add_argument("--database-url", help="an empty PostgreSQL database; default: embedded, temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, serve.stderr)")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    policies = [p for p in args.policies.split(",") if p]

    began = time.perf_counter()
    camp = generate(seed=args.seed, shops=args.shops, trees=args.trees, side_m=args.campaign_km * 1000)
    items = [p for b in camp.batches for p in b.items]
    figures: dict[str, Any] = {
        "benchmark": "dedup",
        "parameters": {k: v for k, v in vars(args).items() if k != "database_url"},
        "campaign": {
            "entities": dict(Counter(e.kind for e in camp.entities.values())),
            "submissions": len(items),
            "double_taps": sum(p.double_tap for p in items),
            "device_day_batches": len(camp.batches),
            "name_variants": dict(Counter(v for p in items if not p.double_tap for v in p.variant)),
            **difficulty(camp),
        },
        "quality": {},
    }
    instance = Instance(database_url=args.database_url, prefix="survey-dedup-")
    try:
        log(f"data dir {instance.root}; {len(items)} submissions; starting the server ...")
        instance.run("migrate")
        server = instance.serve().wait_ready(90)
        token = instance.create_admin("admin@dedup.example")
        with server.client(token, timeout=600) as api:
            for name in policies:
                slug = "dedup-" + name.replace("_", "-")
                set_up(api, slug, POLICIES[name])
                pushed = time.perf_counter()
                judged = push(api, slug, camp)
                seconds = round(time.perf_counter() - pushed, 1)
                quality = {"policy": POLICIES[name], "push_seconds": seconds, **judge(judged)}
                figures["quality"][name] = quality | {"review_queue": queue(api, slug, judged)}
                log(f"{name}: {json.dumps(quality['all'], ensure_ascii=False)}")
        if args.sizes and policies:
            sa_url = instance.database_url()  # join the server's PostgreSQL before it lets go
            server.stop()  # the timing gets both cores
            slug = "dedup-" + policies[0].replace("_", "-")
            figures["lookup"] = asyncio.run(lookup(sa_url, asyncpg_dsn(sa_url), slug, args))
        figures["total_seconds"] = round(time.perf_counter() - began, 1)
    finally:
        instance.teardown(keep=args.keep)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
