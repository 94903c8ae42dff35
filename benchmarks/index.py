"""The city index of a million clean records over 2,000 polygons, over HTTP, with the server's memory.

Starts the real `survey-api serve` (embedded PostgreSQL in a temp data dir unless `--database-url`),
publishes a shop audit form (a geopoint, select_ones, a decimal, an integer, a text, a group), pushes
a few real submissions through the sync endpoint, PUTs a layer of `--areas` irregular quadrilaterals
tiling a city-sized box around Korat (lat 14.9–15.1, lon 102.0–102.2; a few areas are MultiPolygons
of two cells touching at a corner) and six indicators (count, density_km2, two shares with `where`,
a mean, a median; four groups). Then bulk-loads clean records straight into `records` as
`changes.py` does (1% of them outside the box), first up to 100,000, then up to `--records`, and at
each step (after VACUUM ANALYZE and a CHECKPOINT) times `GET …/index/{layer}.json` while sampling the
resident memory of the serve process and its children (PostgreSQL not included) every 50 ms: if
the peak at 1M is about the peak at 100k, memory is flat. Checks, outside the timed part, one row
per area and that the rows' records add up to the records inside the box. One JSON object on stdout.

    python benchmarks/index.py                              # 1M records, ~3 min on the 2-core machine
    python benchmarks/index.py --records 100000             # the quick run
    python benchmarks/index.py --records 100000 --profile /tmp/index.prof   # serve under cProfile
    python benchmarks/index.py --cli                        # also `survey-api index` once, at the end
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shlex
import sys
import threading
import time
from typing import Any

import asyncpg
import loading
import msgspec
import psutil
from harness import HarnessError, Instance, Server, asyncpg_dsn, cpu_seconds, log, postgres_pids

PROJECT = "bench"
FORM_KEY = "shop_audit"
VERSION = "v1"
LAYER = "districts"
SYNC = f"/api/v1/projects/{PROJECT}/sync"
BOX = (102.0, 14.9, 102.2, 15.1)  # min lon, min lat, max lon, max lat
OUTSIDE = 0.01  # share of loaded records placed just outside the box: in no area
SURFACES = ["concrete", "brick", "asphalt", "gravel", "none"]
KINDS = ["food", "market", "repair", "other"]
CHUNK = 2000  # records per loading transaction
LOADERS = 2
STEP = 100_000  # the first measurement, for the memory comparison
SAMPLE_S = 0.05


def bounded(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        value = int(text.replace("_", "").replace(",", ""))
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}")
        return value

    return parse


def form_definition() -> dict[str, Any]:
    return {
        "key": FORM_KEY,
        "version": VERSION,
        "title": {"th": "สำรวจร้านค้า", "en": "Shop audit"},
        "fields": [
            {"name": "location", "type": "geopoint", "required": True},
            {"name": "shop_name", "type": "text"},
            {"name": "surface", "type": "select_one", "choices": "surface"},
            {"name": "width_m", "type": "decimal", "constraint": ". >= 0 and . <= 20"},
            {"name": "trees", "type": "integer"},
            {"name": "lit", "type": "select_one", "choices": "yesno"},
            {
                "name": "shop",
                "type": "group",
                "fields": [
                    {"name": "kind", "type": "select_one", "choices": "kind"},
                    {"name": "opened", "type": "date"},
                ],
            },
        ],
        "choices": {
            "surface": [{"value": v} for v in SURFACES],
            "yesno": [{"value": "yes"}, {"value": "no"}],
            "kind": [{"value": v} for v in KINDS],
        },
    }


def label(en: str, th: str) -> dict[str, str]:
    return {"en": en, "th": th}


INDICATORS = {
    "aggregation": "arithmetic",
    "indicators": [
        {"key": "shops", "label": label("Shops", "ร้านค้า"), "form": FORM_KEY, "aggregate": "count",
         "group": "economy/inclusive"},
        {"key": "crowding", "label": label("Shops per km²", "ร้านต่อ ตร.กม."), "form": FORM_KEY,
         "aggregate": "density_km2", "direction": "lower_better", "group": "society/safe"},
        {"key": "paved", "label": label("Paved sidewalk", "ทางเท้าปูพื้น"), "form": FORM_KEY,
         "aggregate": "share", "where": {"surface": ["concrete", "asphalt"]}, "weight": 2,
         "group": "society/safe"},
        {"key": "lit_food", "label": label("Lit food shops", "ร้านอาหารมีไฟ"), "form": FORM_KEY,
         "aggregate": "share", "where": {"lit": "yes", "shop/kind": "food"}, "group": "society/safe"},
        {"key": "width", "label": label("Mean sidewalk width", "ความกว้างทางเท้าเฉลี่ย"), "form": FORM_KEY,
         "aggregate": "mean", "field": "width_m", "group": "society/inclusive"},
        {"key": "trees", "label": label("Median trees", "ต้นไม้มัธยฐาน"), "form": FORM_KEY,
         "aggregate": "median", "field": "trees", "min_records": 3, "group": "environment/sustainable"},
    ],
}  # fmt: skip


def grid_shape(n: int) -> tuple[int, int, int]:
    """Rows and columns of a grid with a few cells more than `n`: (rows, cols, extra cells); each extra
    cell is merged into a diagonal neighbour, making a MultiPolygon."""
    rows = max(2, round(math.sqrt(n)))
    while True:
        cols = math.ceil((n + 3) / rows)
        extra = rows * cols - n
        if extra <= (rows // 2) * (cols // 2):
            return rows, cols, extra
        rows += 1


def layer(n: int, seed: int) -> dict[str, Any]:
    """`n` areas tiling BOX: a grid of quadrilaterals whose inner corners are moved at random (up to a
    quarter of a cell, so every one stays simple), `extra` of them two cells touching at a corner."""
    rng = random.Random(seed)
    rows, cols, extra = grid_shape(n)
    west, south, east, north = BOX
    dx, dy = (east - west) / cols, (north - south) / rows
    corner: dict[tuple[int, int], tuple[float, float]] = {}
    for i in range(rows + 1):
        for j in range(cols + 1):
            x = west + j * dx + (rng.uniform(-0.25, 0.25) * dx if 0 < j < cols else 0.0)
            y = south + i * dy + (rng.uniform(-0.25, 0.25) * dy if 0 < i < rows else 0.0)
            corner[i, j] = (round(x, 7), round(y, 7))

    def ring(i: int, j: int) -> list[list[float]]:
        points = [corner[i, j], corner[i, j + 1], corner[i + 1, j + 1], corner[i + 1, j], corner[i, j]]
        return [list(p) for p in points]

    # Each extra cell (i+1, j+1) joins the cell (i, j) of its own 2×2 block: they touch at one corner.
    blocks = [(2 * a, 2 * b) for a in range(rows // 2) for b in range(cols // 2)]
    joined = dict(zip(rng.sample(blocks, extra), [True] * extra, strict=True))
    features = []
    for i in range(rows):
        for j in range(cols):
            if (i - 1, j - 1) in joined and i % 2 and j % 2:
                continue  # part of its neighbour's MultiPolygon
            if (i, j) in joined:
                geometry = {"type": "MultiPolygon", "coordinates": [[ring(i, j)], [ring(i + 1, j + 1)]]}
            else:
                geometry = {"type": "Polygon", "coordinates": [ring(i, j)]}
            code = f"D{len(features) + 1:05d}"
            features.append(
                {
                    "type": "Feature",
                    "geometry": geometry,
                    "properties": {"code": code, "name": {"en": f"District {code}", "th": f"เขต {code}"}},
                }
            )
    assert len(features) == n, (len(features), n)
    return {"type": "FeatureCollection", "features": features}


def point(rng: random.Random) -> tuple[float, float]:
    """(lat, lon): in BOX, or (OUTSIDE of the time) within 0.05° north of it."""
    west, south, east, north = BOX
    lon = round(west + rng.random() * (east - west), 6)
    if rng.random() < OUTSIDE:
        return round(north + 0.0001 + rng.random() * 0.05, 6), lon
    return round(south + rng.random() * (north - south), 6), lon


def answers(rng: random.Random, lat: float, lon: float) -> dict[str, Any]:
    return {
        "location": {"lat": lat, "lon": lon, "alt": None, "accuracy": round(rng.uniform(2, 15), 1)},
        "shop_name": f"ร้าน {rng.randrange(10_000)}",
        "surface": rng.choice(SURFACES),
        "width_m": round(rng.uniform(0, 5), 2),
        "trees": rng.randrange(12),
        "lit": rng.choice(["yes", "no"]),
        "shop": {
            "kind": rng.choice(KINDS),
            "opened": f"20{rng.randrange(10, 27)}-0{rng.randrange(1, 10)}-15",
        },
    }


def pick(values: list[str]) -> str:
    array = "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]"
    return f"({array})[1 + floor(random() * {len(values)})::int]"


ANSWERS = f"""jsonb_build_object(
    'location', jsonb_build_object('lat', p.lat, 'lon', p.lon, 'alt', null, 'accuracy', p.accuracy),
    'shop_name', 'ร้าน ' || floor(random() * 10000)::int,
    'surface', {pick(SURFACES)},
    'width_m', round((random() * 5)::numeric, 2),
    'trees', floor(random() * 12)::int,
    'lit', {pick(["yes", "no"])},
    'shop', jsonb_build_object(
        'kind', {pick(KINDS)},
        'opened', to_char(date '2010-01-01' + floor(random() * 6000)::int, 'YYYY-MM-DD')))"""

INSERT = loading.insert_sql(ANSWERS)


def columns(rng: random.Random, n: int) -> tuple[loading.Columns, int]:
    """`n` points as columns (lat, lon, accuracy, cell x, cell y) and how many of them are in BOX."""
    points = [point(rng) for _ in range(n)]
    return loading.columns_of(points, rng), sum(1 for lat, _ in points if lat <= BOX[3])


async def load(dsn: str, records: int, seed: int) -> dict[str, Any]:
    """`records` more clean records on LOADERS connections; then VACUUM ANALYZE and a CHECKPOINT."""
    loaded = await loading.load(
        dsn, project=PROJECT, form_key=FORM_KEY, version=VERSION, insert=INSERT, records=records,
        seed=seed, points=columns, chunk=CHUNK, loaders=LOADERS,
    )  # fmt: skip
    conn = await asyncpg.connect(dsn)
    try:
        table_mb = await conn.fetchval("SELECT pg_table_size('records') / 1048576.0")
    finally:
        await conn.close()
    return {
        "records": records,
        "inside": loaded["counted"],
        "seconds": round(loaded["seconds"], 1),
        "table_mb": round(float(table_mb)),
    }


class PeakRss:
    """Samples the resident memory of a process and its children (but PostgreSQL) every SAMPLE_S."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.first = self.rss()
        self.samples = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def rss(self) -> int:
        total = 0
        for proc in [self.process, *self.process.children(recursive=True)]:
            try:
                if proc.name() != "postgres":
                    total += proc.memory_info().rss
            except psutil.Error:  # gone meanwhile
                continue
        return total

    def run(self) -> None:
        while not self.stopped.wait(SAMPLE_S):
            self.peak = max(self.peak, self.rss())
            self.samples += 1

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def measure(
    instance: Instance, server: Server, token: str, areas: int, records: int, inside: int
) -> dict[str, Any]:
    """One timed GET of the index, the memory and CPU meanwhile (the machine may be shared: CPU
    seconds say what the index cost whatever the neighbours did to wall time), then the checks."""
    watched = {"server": [server.process.pid], "postgres": postgres_pids(instance)}
    load_before = os.getloadavg()[0]
    cpu_before = {name: cpu_seconds(pids) for name, pids in watched.items()}
    with server.client(token, timeout=600) as api, PeakRss(server.process.pid) as rss:
        began = time.perf_counter()
        response = api.get(f"/api/v1/projects/{PROJECT}/index/{LAYER}.json")
        seconds = time.perf_counter() - began
    cpu = {
        name: round(after - before, 1)
        for name, before in cpu_before.items()
        if before is not None and (after := cpu_seconds(watched[name])) is not None
    }
    body = server.ok(response)
    rows = body["rows"]
    located = sum(row["records"] for row in rows)
    if len(rows) != areas or located != inside:
        raise HarnessError(f"{len(rows)} rows for {areas} areas, {located} records for {inside} in the box")
    outside = records - inside
    if outside and not any(note.startswith(f"{outside} record(s)") for note in body["notes"]):
        raise HarnessError(f"no note of the {outside} records outside every area: {body['notes']}")
    return {
        "records": records,
        "located": located,
        "areas": len(rows),
        "ranked": sum(1 for row in rows if row["rank"] is not None),
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "server_rss_mb_before": round(rss.first / 2**20),
        "server_peak_rss_mb": round(rss.peak / 2**20),
        "rss_samples": rss.samples,
        "cpu_seconds": cpu,
        "load_average_1m_before": round(load_before, 2),
        "body_kb": round(len(response.content) / 1024),
    }


def set_up(instance: Instance, server: Server, areas: int, seed: int) -> str:
    """Project, form, volunteer, three real submissions, the layer and the indicators; admin's token."""
    admin = instance.create_admin("admin@bench.example")
    base = f"/api/v1/projects/{PROJECT}"
    with server.client(admin, timeout=120) as api:
        server.ok(api.post("/api/v1/projects", json={"slug": PROJECT, "name": "Benchmark"}))
        server.ok(api.post(f"{base}/forms", json=form_definition()))
        server.ok(api.post(f"{base}/forms/{FORM_KEY}/versions/{VERSION}/publish"))
        volunteer = server.ok(
            api.post("/api/v1/users", json={"email": "volunteer@bench.example", "name": "V"})
        )
        server.ok(api.put(f"{base}/members/{volunteer['id']}", json={"role": "volunteer"}))
        rng = random.Random(seed)
        items = [
            {"uuid": f"00000000-0000-4000-8000-00000000000{n}", "form": FORM_KEY, "version": VERSION,
             "started_at": "2026-11-20T09:00:00+07:00", "ended_at": "2026-11-20T09:01:00+07:00",
             "answers": answers(rng, 14.95 + n / 100, 102.05 + n / 100)}
            for n in range(3)
        ]  # fmt: skip
        body = msgspec.json.encode({"device_id": "tablet-real", "sent_at": "2026-11-20T17:00:00+07:00",
                                    "submissions": items})  # fmt: skip
        pushed = server.ok(
            api.post(
                SYNC, content=body, headers={"Content-Type": "application/json", **volunteer_auth(volunteer)}
            )
        )
        if [r["status"] for r in pushed["results"]] != ["accepted"] * 3:
            raise HarnessError(f"pushing the real submissions: {pushed}")
        began = time.perf_counter()
        put = server.ok(api.put(f"{base}/areas/{LAYER}", json=layer(areas, seed)))
        log(
            f"PUT areas: {put['count']} areas in {time.perf_counter() - began:.1f} s, warnings {put['warnings'][:3]}"
        )
        server.ok(api.put(f"{base}/indicators", json=INDICATORS))
    return admin


def volunteer_auth(volunteer: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {volunteer['token']}"}


def run_cli(instance: Instance) -> dict[str, Any]:
    """`survey-api index` once, as an operator would, on the same data."""
    out = instance.root / "index.json"  # removed with the data dir
    began = time.perf_counter()
    instance.run("index", PROJECT, LAYER, "-o", str(out), "--format", "json", timeout=600)
    seconds = time.perf_counter() - began
    rows = msgspec.json.decode(out.read_bytes())["rows"]
    return {"seconds": round(seconds, 2), "rows": len(rows), "records": sum(r["records"] for r in rows)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=bounded(1000, 2_000_000), default=1_000_000, help="clean records")
    parser.add_argument("--areas", type=bounded(4, 50_000), default=2000, help="polygons in the layer")
    parser.add_argument("--database-url", help="an empty PostgreSQL database; default: embedded, temp dir")
    parser.add_argument("--profile", help="run serve under cProfile, writing this file when it stops")
    parser.add_argument("--cli", action="store_true", help="also time `survey-api index` once at the end")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, serve.stderr)")
    args = parser.parse_args()

    figures: dict[str, Any] = {
        "benchmark": "index",
        "command": shlex.join(["python", *sys.argv]),
        "parameters": {k: v for k, v in vars(args).items() if k != "database_url"},
    }
    began = time.perf_counter()
    instance = Instance(database_url=args.database_url, prefix="survey-index-")
    try:
        log(f"data dir {instance.root}; migrating and starting the server ...")
        instance.run("migrate")
        server = instance.serve(profile=args.profile).wait_ready(90)
        token = set_up(instance, server, args.areas, args.seed)
        dsn = asyncpg_dsn(instance.database_url())
        records, inside = 3, 3  # the pushed ones, all in the box
        steps = [n for n in (STEP, args.records) if n <= args.records]
        figures["runs"] = []
        for target in dict.fromkeys(steps):
            log(f"loading {target - records:,} records ...")
            loaded = asyncio.run(load(dsn, target - records, args.seed + len(figures["runs"])))
            records, inside = target, inside + loaded["inside"]
            log(f"loaded: {loaded}; GET the index of {records:,} records ...")
            run = measure(instance, server, token, args.areas, records, inside)
            run["load_seconds"] = loaded["seconds"]
            run["table_mb"] = loaded["table_mb"]
            log(f"index: {run}")
            figures["runs"].append(run)
        if args.cli:
            log("survey-api index ...")
            figures["cli"] = run_cli(instance)
        last = figures["runs"][-1]
        figures |= {
            "records": last["records"],
            "areas": last["areas"],
            "seconds": last["seconds"],
            "records_per_s": last["records_per_s"],
            "server_peak_rss_mb": {f"{r['records']:,}": r["server_peak_rss_mb"] for r in figures["runs"]},
        }
        if args.profile:
            server.stop()
        figures["total_seconds"] = round(time.perf_counter() - began, 1)
    finally:
        instance.teardown(keep=args.keep)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
