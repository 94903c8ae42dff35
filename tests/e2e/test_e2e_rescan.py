"""End to end: coordinators start a duplicate rescan of one form at once, on two server processes.

One rescan runs per form: every request made while it runs gets that job back, and the job ends
`done`, with each pair proposed or merged once, and nothing in the server logs.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import httpx

from benchmarks.harness import Instance, Server
from tests.e2e.fieldwork import call

API = "/api/v1/projects/korat"
RESCAN = f"{API}/forms/shops/dedup/rescan"
FORM = {
    "key": "shops",
    "version": "v1",
    "title": "Shops",
    "fields": [{"name": "location", "type": "geopoint"}, {"name": "shop_name", "type": "text"}],
}
POLICY = {"radius_m": 25, "match_fields": ["shop_name"], "auto_merge_score": 0.85, "review_score": 0.6}
PAIRS = 400  # twins (merged) and neighbours (most proposed), 100 m from any other pair
REQUESTS_PER_SERVER = 3


def submission(n: int, name: str, north_m: float) -> dict[str, Any]:
    lat = 14.90 + (n // 50) * 0.001 + north_m / 111_195.0
    return {
        "uuid": str(uuid.uuid4()),
        "form": "shops",
        "version": "v1",
        "answers": {
            "location": {"lat": lat, "lon": 102.0 + (n % 50) * 0.001, "accuracy": 4.0},
            "shop_name": name,
        },
    }


def set_up(server: Server, admin: str) -> None:
    """A form whose records hold PAIRS near pairs, stored under a policy that matched none of them."""
    with server.client(admin) as api:
        api.timeout = httpx.Timeout(60)
        call(server, api, "POST", "/api/v1/projects", 201, json={"slug": "korat", "name": "Korat"})
        call(server, api, "POST", f"{API}/forms", 201, json=FORM)
        call(server, api, "POST", f"{API}/forms/shops/versions/v1/publish", 200)
        call(server, api, "PUT", f"{API}/forms/shops/dedup", 200, json={"radius_m": 0.001})
        items = []
        for n in range(PAIRS):
            twin = n % 2 == 0  # the same shop twice (merged), or two shops side by side (proposed)
            items += [submission(n, f"ร้านที่ {n}", 0), submission(n, f"ร้านที่ {n}" if twin else f"ตึก {n}", 4)]
        for start in range(0, len(items), 500):
            batch = {"device_id": f"tablet-{start}", "submissions": items[start : start + 500]}
            results = call(server, api, "POST", f"{API}/sync", 200, json=batch)["results"]
            assert {r["status"] for r in results} == {"accepted"}
        call(server, api, "PUT", f"{API}/forms/shops/dedup", 200, json=POLICY)


def follow(server: Server, admin: str, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    with server.client(admin) as api:
        while time.monotonic() < deadline:
            job = call(server, api, "GET", location, 200)
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(0.2)
    raise AssertionError(f"the rescan did not finish in 120 s\n{server.explain()}")


def review_pairs(server: Server, admin: str) -> list[dict[str, Any]]:
    with server.client(admin) as api:
        return call(server, api, "GET", f"{API}/review/duplicates", 200, params={"limit": 1000})["items"]


def test_concurrent_rescans_of_one_form_share_one_job(instance: Instance) -> None:
    admin = instance.create_admin()
    one, two = instance.serve(), instance.serve()
    one.wait_ready()
    two.wait_ready()
    set_up(one, admin)

    start = threading.Barrier(2 * REQUESTS_PER_SERVER)
    answers: list[httpx.Response] = []

    def coordinator(server: Server) -> None:
        with server.client(admin) as api:
            start.wait()
            answers.append(api.post(RESCAN))

    threads = [
        threading.Thread(target=coordinator, args=(server,))
        for server in (one, two)
        for _ in range(REQUESTS_PER_SERVER)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(a.status_code for a in answers) == [200] * (len(answers) - 1) + [202], instance.logs()
    assert len({a.json()["id"] for a in answers}) == 1, [a.json() for a in answers]
    assert len({a.headers["location"] for a in answers}) == 1
    job = follow(one, admin, answers[0].headers["location"])
    assert job["status"] == "done" and job["error"] is None, job
    pairs = review_pairs(two, admin)
    assert len({frozenset((p["record_id"], p["candidate_id"])) for p in pairs}) == len(pairs), "a pair twice"
    assert job["merged"] == PAIRS // 2 == sum(p["decided_by"] == "system" for p in pairs), job
    assert job["proposed"] == sum(p["decision"] is None for p in pairs) > 0, job
    assert one.failures() == [] and two.failures() == [], instance.logs()

    with one.client(admin) as api:  # once it is done, a new request starts a new job, which finds nothing new
        again = api.post(RESCAN)
        assert again.status_code == 202, one.explain(again)
        assert again.json()["id"] != job["id"]
    after = follow(one, admin, again.headers["location"])
    assert after["status"] == "done" and (after["merged"], after["proposed"]) == (0, 0), after
