"""OpenRosa intake against the JSON sync, in one run on one server.

Starts the real `survey-api serve` (embedded PostgreSQL in a temp data dir unless `--database-url`),
publishes a 12-question form, fetches its XForm through `formList` as ODK Collect does, then sends
`--submissions` instances as Collect sends them: one multipart POST per instance
(`xml_submission_file`, and with `--photo-kb` a photo part), `--concurrency` clients at once. Then the
same number of submissions of the same form as JSON batches of `--batch-size` through
`POST .../sync`. One JSON object on stdout (submissions/s, p50/p95 latency per request, statuses,
CPU milliseconds per submission of the server with its helpers, PostgreSQL and this client, which
share the machine's cores); progress on stderr.

    python benchmarks/openrosa.py                       # 2,000 instances, 8 at once, no photo
    python benchmarks/openrosa.py --photo-kb 200        # each with a 200 KB photo
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import msgspec
from harness import Instance, Server, cpu_seconds, log, percentile, postgres_pids

from survey_api.demo.collect import instance_xml, template_of

PROJECT = "bench"
FORM_KEY = "shops"
VERSION = "v1"
LIST = "{http://openrosa.org/xforms/xformsList}"
FORM: dict[str, Any] = {
    "key": FORM_KEY,
    "version": VERSION,
    "title": {"th": "ร้านค้า", "en": "Shops"},
    "fields": [
        {"name": "shop_name", "type": "text", "required": True},
        {"name": "owner", "type": "text"},
        {"name": "location", "type": "geopoint"},
        {"name": "kind", "type": "select_one", "choices": "kind"},
        {"name": "goods", "type": "select_multiple", "choices": "goods"},
        {"name": "seats", "type": "integer", "constraint": ". >= 0"},
        {"name": "width_m", "type": "decimal"},
        {"name": "opened", "type": "date"},
        {"name": "front", "type": "photo"},
        {
            "name": "staff",
            "type": "repeat",
            "fields": [{"name": "role", "type": "text"}, {"name": "years", "type": "integer"}],
        },
    ],
    "choices": {
        "kind": [{"value": v} for v in ("food", "retail", "service")],
        "goods": [{"value": v} for v in ("rice", "noodles", "drinks", "snacks")],
    },
}


def answers(rng: random.Random, with_photo: bool) -> dict[str, Any]:
    return {
        "shop_name": f"ร้าน {rng.randrange(1_000_000)}",
        "owner": rng.choice(["ป้าศรี", "ลุงชัย", "Somchai"]),
        "location": f"{14.97 + rng.random() / 50:.6f} {102.08 + rng.random() / 50:.6f} 180 {rng.uniform(3, 15):.1f}",
        "kind": rng.choice(["food", "retail", "service"]),
        "goods": " ".join(rng.sample(["rice", "noodles", "drinks", "snacks"], 2)),
        "seats": str(rng.randrange(40)),
        "width_m": f"{rng.uniform(0.5, 4):.2f}",
        "opened": f"20{rng.randrange(10, 26)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}",
        **({"front": "front.jpg"} if with_photo else {}),
        "staff": [{"role": "cook", "years": str(rng.randrange(20))} for _ in range(rng.randrange(1, 3))],
    }


def set_up(instance: Instance, server: Server) -> tuple[str, bytes]:
    """A project with the form published; a volunteer's token and the XForm their tablet downloads."""
    admin = instance.create_admin("admin@bench.example")
    with server.client(admin, timeout=60) as api:
        server.ok(api.post("/api/v1/projects", json={"slug": PROJECT, "name": "Benchmark"}))
        server.ok(api.post(f"/api/v1/projects/{PROJECT}/forms", json=FORM))
        server.ok(api.post(f"/api/v1/projects/{PROJECT}/forms/{FORM_KEY}/versions/{VERSION}/publish"))
        volunteer = server.ok(api.post("/api/v1/users", json={"email": "v@bench.example", "name": "V"}))
        server.ok(
            api.put(f"/api/v1/projects/{PROJECT}/members/{volunteer['id']}", json={"role": "volunteer"})
        )
    token = volunteer["token"]
    with httpx.Client(base_url=server.url, timeout=60) as plain:
        listing = plain.get(f"/openrosa/key/{token}/projects/{PROJECT}/formList")
        url = ET.fromstring(listing.content).findtext(f"{LIST}xform/{LIST}downloadUrl")
        assert url, listing.text
        xform = plain.get(url)
        xform.raise_for_status()
    return token, xform.content


async def run(
    label: str, url: str, requests: list[dict[str, Any]], concurrency: int
) -> tuple[float, list[float], dict[str, int]]:
    """Send every request with `concurrency` keep-alive clients: wall time, latencies, status counts."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    done = 0

    async def worker() -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            while not queue.empty():
                request = queue.get_nowait()
                began = time.perf_counter()
                response = await client.post(**request)
                latencies.append(time.perf_counter() - began)
                if label == "json":
                    if response.status_code != 200:
                        raise SystemExit(f"json: HTTP {response.status_code}: {response.text[:2000]}")
                    for result in response.json()["results"]:
                        statuses[result["status"]] = statuses.get(result["status"], 0) + 1
                else:
                    key = str(response.status_code)
                    statuses[key] = statuses.get(key, 0) + 1
                    if response.status_code not in (201, 202):
                        raise SystemExit(f"openrosa: HTTP {response.status_code}: {response.text[:2000]}")
                done += 1
                if done % max(1, len(requests) // 5) == 0:
                    log(f"{label}: {done}/{len(requests)} requests")

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies, statuses


def cpu_now(server: Server, instance: Instance) -> dict[str, float | None]:
    """CPU seconds so far of the server (with its intake helpers), PostgreSQL and this client."""
    return {
        "server": cpu_seconds([server.process.pid]),
        "postgres": cpu_seconds(postgres_pids(instance)),
        "client": cpu_seconds([os.getpid()], descendants=False),
    }


def cpu_per_submission(
    before: dict[str, float | None], after: dict[str, float | None], count: int
) -> dict[str, float]:
    """Milliseconds of CPU per submission, by process family: where the two cores went."""
    return {
        name: round(1000 * (end - start) / count, 2)
        for name, start in before.items()
        if start is not None and (end := after[name]) is not None
    }


def summary(count: int, wall: float, latencies: list[float], statuses: dict[str, int]) -> dict[str, Any]:
    return {
        "submissions": count,
        "requests": len(latencies),
        "seconds": round(wall, 2),
        "submissions_per_s": round(count / wall),
        "request_latency_ms": {
            "p50": round(1000 * statistics.median(latencies), 1),
            "p95": round(1000 * percentile(latencies, 0.95), 1),
        },
        "statuses": statuses,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--submissions", type=int, default=2000, help="instances per protocol (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="OpenRosa clients at once (default 8)")
    parser.add_argument(
        "--batch-size", type=int, default=100, help="JSON submissions per batch (default 100)"
    )
    parser.add_argument("--json-concurrency", type=int, default=2, help="JSON clients at once (default 2)")
    parser.add_argument("--photo-kb", type=int, default=0, help="a photo of this size with each instance")
    parser.add_argument("--database-url", help="an empty PostgreSQL database; default: embedded, temp dir")
    parser.add_argument("--profile", help="run the server under cProfile and write its stats here")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, serve.stderr)")
    args = parser.parse_args()
    if not 1 <= args.submissions <= 100_000 or not 1 <= args.concurrency <= 64:
        parser.error("--submissions must be 1..100000 and --concurrency 1..64")

    rng = random.Random(args.seed)
    instance = Instance(database_url=args.database_url, prefix="survey-bench-openrosa-")
    figures: dict[str, Any] = {"parameters": dict(vars(args))}
    try:
        instance.run("migrate")
        server = instance.serve(profile=args.profile).wait_ready(90)
        token, xform = set_up(instance, server)
        template = template_of(xform)
        photo = rng.randbytes(args.photo_kb * 1024) if args.photo_kb else b""
        root = f"/openrosa/key/{token}/projects/{PROJECT}/submission"
        posts = []
        for _ in range(args.submissions):
            xml = instance_xml(template, answers(rng, bool(photo)), str(uuid.uuid4()))
            files = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
            if photo:
                files.append(("front.jpg", ("front.jpg", photo, "image/jpeg")))
            posts.append({"url": root, "files": files, "headers": {"X-OpenRosa-Version": "1.0"}})
        log(f"OpenRosa: {args.submissions} instances, one per POST, {args.concurrency} at once ...")
        before = cpu_now(server, instance)
        wall, latencies, statuses = asyncio.run(run("openrosa", server.url, posts, args.concurrency))
        figures["openrosa"] = summary(args.submissions, wall, latencies, statuses)
        figures["openrosa"]["cpu_ms_per_submission"] = cpu_per_submission(
            before, cpu_now(server, instance), args.submissions
        )
        log(f"openrosa: {figures['openrosa']}")

        items = [
            {"uuid": str(uuid.uuid4()), "form": FORM_KEY, "version": VERSION, "answers": answers(rng, False)}
            for _ in range(args.submissions)
        ]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        batches = [
            {
                "url": f"/api/v1/projects/{PROJECT}/sync",
                "content": msgspec.json.encode(
                    {"device_id": "bench", "submissions": items[i : i + args.batch_size]}
                ),
                "headers": headers,
            }
            for i in range(0, len(items), args.batch_size)
        ]
        log(
            f"JSON sync: {len(items)} submissions in batches of {args.batch_size}, {args.json_concurrency} at once ..."
        )
        before = cpu_now(server, instance)
        wall, latencies, statuses = asyncio.run(run("json", server.url, batches, args.json_concurrency))
        figures["json_sync"] = summary(len(items), wall, latencies, statuses)
        figures["json_sync"]["cpu_ms_per_submission"] = cpu_per_submission(
            before, cpu_now(server, instance), len(items)
        )
        log(f"json: {figures['json_sync']}")
        figures["openrosa_share_of_json_rate"] = round(
            figures["openrosa"]["submissions_per_s"] / figures["json_sync"]["submissions_per_s"], 3
        )
    finally:
        instance.teardown(keep=args.keep)
    json.dump(figures, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
