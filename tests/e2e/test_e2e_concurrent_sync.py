"""End to end: 20 tablets push overlapping batches at once to the real `survey-api serve`.

A fresh `SURVEY_DATA_DIR` (embedded PostgreSQL), real sockets, real concurrency. Batches share uuids
(in different orders), are re-sent after a dropped connection, several tablets edit one record from
the same base revision, and some items are bad. Nothing may be lost, doubled, or answered with a 500.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
import uuid
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest

from benchmarks.harness import Instance, Server
from tests.e2e.fieldwork import API, auth, call, new_item, set_up

TABLETS = 20
BATCHES_PER_TABLET = 3
OWN_PER_BATCH = 15
SHARED_PER_BATCH = 8
SHARED_POOL = 60


def bad_items(tablet: int, batch: int) -> list[dict[str, Any]]:
    """Items that must be rejected into the quarantine, each with a uuid of its own."""
    return [
        new_item(answers={"width_m": "wide"}),
        new_item(version="never-published"),
        new_item(answers={"location": {"lat": 102.08, "lon": 14.97}}),  # lat and lon swapped
    ][(tablet + batch) % 3 :][:2]


class Plan:
    """Every tablet's batches, and what the server must make of them."""

    def __init__(self, seed_answers: dict[str, Any], record_id: str, rng: random.Random) -> None:
        self.record_id = record_id
        self.valid: set[str] = set()
        self.bad: set[str] = set()
        self.changing_edits: set[str] = set()
        self.noop_edits: set[str] = set()
        shared = [new_item() for _ in range(SHARED_POOL)]
        self.valid |= {s["uuid"] for s in shared}
        self.batches: list[list[list[dict[str, Any]]]] = []
        for tablet in range(TABLETS):
            own_batches = []
            for number in range(BATCHES_PER_TABLET):
                own = [new_item() for _ in range(OWN_PER_BATCH)]
                self.valid |= {o["uuid"] for o in own}
                bad = bad_items(tablet, number)
                self.bad |= {b["uuid"] for b in bad}
                items = own + rng.sample(shared, SHARED_PER_BATCH) + bad
                if number == 1:  # every tablet edits the one record from revision 1, at the same time
                    if tablet % 7 == 3:  # it re-sends the record exactly as it was: changes nothing
                        edit = self.edit(seed_answers)
                        self.noop_edits.add(edit["uuid"])
                    else:
                        changed = {**seed_answers, "width_m": 2.0 + tablet / 10}
                        if tablet % 2:
                            changed["surface"] = "brick"
                        edit = self.edit(changed)
                        self.changing_edits.add(edit["uuid"])
                    items.append(edit)
                rng.shuffle(items)  # shared uuids arrive in a different order in every batch
                own_batches.append(items)
            self.batches.append(own_batches)

    def edit(self, answers: dict[str, Any]) -> dict[str, Any]:
        return {
            "uuid": str(uuid.uuid4()),
            "form": "sidewalk_audit",
            "version": "v1",
            "record_id": self.record_id,
            "base_revision": 1,
            "answers": answers,
        }


def body(tablet: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"device_id": f"tablet-{tablet:02d}", "sent_at": "2026-11-20T17:00:00+07:00", "submissions": items}


async def tablet(
    url: str, token: str, number: int, batches: list[list[dict[str, Any]]], start: asyncio.Event
) -> list[tuple[httpx.Response, list[dict[str, Any]]]]:
    """Push every batch; the connection drops on the first try of one batch, then every batch is re-sent."""
    answered: list[tuple[httpx.Response, list[dict[str, Any]]]] = []
    async with httpx.AsyncClient(base_url=url, headers=auth(token), timeout=45) as api:
        await start.wait()
        for index, items in enumerate(batches):
            if index == number % len(batches):  # the tablet gives up before the answer comes
                try:
                    await api.post(f"{API}/sync", json=body(number, items), timeout=0.005 * (1 + number % 4))
                except httpx.TimeoutException:
                    pass
                else:
                    pass  # the server was quicker than the tablet's patience: fine as well
            answered.append((await api.post(f"{API}/sync", json=body(number, items)), items))
        for items in reversed(batches):  # no answer was trusted: everything again, in another order
            answered.append((await api.post(f"{API}/sync", json=body(number, items)), items))
    return answered


async def push_all(
    url: str, tokens: list[str], plan: Plan
) -> list[tuple[httpx.Response, list[dict[str, Any]]]]:
    start = asyncio.Event()
    tasks = [asyncio.create_task(tablet(url, tokens[n], n, plan.batches[n], start)) for n in range(TABLETS)]
    await asyncio.sleep(0.2)
    start.set()
    done = await asyncio.gather(*tasks)
    return [pair for answered in done for pair in answered]


def every(server: Server, api: httpx.Client, path: str, cursor_param: str) -> list[dict[str, Any]]:
    """All items of a paged list: the change feed (`since`, ends on `more: false`) or a plain list."""
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": 1000} | ({cursor_param: cursor} if cursor else {})
        page = call(server, api, "GET", f"{API}/{path}", 200, params=params)
        seen += page["items"]
        cursor = page["next"]
        if not page.get("more", cursor is not None):
            return seen
    pytest.fail(f"{path} never ended")


def test_twenty_tablets_push_overlapping_batches_at_once(instance: Instance) -> None:
    admin = instance.create_admin()
    server = instance.serve()
    server.wait_ready()
    coordinator, volunteers = set_up(server, admin, TABLETS)

    seed = new_item()
    with httpx.Client(base_url=server.url, headers=auth(volunteers[0]), timeout=30) as api:
        [created] = call(server, api, "POST", f"{API}/sync", 200, json=body(0, [seed]))["results"]
    assert created["status"] == "accepted", created
    record_id = created["record_id"]
    plan = Plan(seed["answers"], record_id, random.Random(20261120))
    plan.valid.add(seed["uuid"])

    began = time.monotonic()
    answered = asyncio.run(push_all(server.url, volunteers, plan))
    pushed_s = time.monotonic() - began

    # Every request answered 200, with one result per submission, in order.
    by_uuid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for response, items in answered:
        assert response.status_code == 200, server.explain(response)
        results = response.json()["results"]
        assert len(results) == len(items), "received = sum of statuses"
        assert [r["uuid"] for r in results] == [i["uuid"] for i in items]
        for result in results:
            by_uuid[result["uuid"]].append(result)
    assert not server.failures(), "\n\n".join(server.failures())

    # One uuid, one outcome: every result for a uuid names the same record (or none, if rejected).
    for uid, results in by_uuid.items():
        assert len({r["record_id"] for r in results}) == 1, (uid, results)
        firsts = [
            (r["status"], [e["code"] for e in r["errors"]]) for r in results if r["status"] != "duplicate"
        ]
        assert len(firsts) <= 1, f"{uid} processed {len(firsts)} times, not once: {firsts}"
    for uid in plan.bad:
        assert {r["status"] for r in by_uuid[uid]} <= {"rejected", "duplicate"}, by_uuid[uid]
        assert all(r["record_id"] is None for r in by_uuid[uid]), by_uuid[uid]
    for uid in plan.valid - {seed["uuid"]}:
        assert {r["status"] for r in by_uuid[uid]} <= {"accepted", "duplicate"}, by_uuid[uid]

    with httpx.Client(base_url=server.url, headers=auth(coordinator), timeout=30) as api:
        records = every(server, api, "sync/changes", "since")
        quarantined = every(server, api, "quarantine", "cursor")
        history = call(server, api, "GET", f"{API}/records/{record_id}", 200)

    # Exactly one record per valid new uuid: none lost, none doubled.
    record_ids = [r["record_id"] for r in records]
    assert len(record_ids) == len(set(record_ids)), "the change feed repeats a record"
    made = {uid: by_uuid[uid][0]["record_id"] for uid in plan.valid - {seed["uuid"]}}
    assert len(set(made.values())) == len(made), "two uuids share a record"
    assert set(record_ids) == set(made.values()) | {record_id}
    assert len(records) == len(plan.valid)

    # Exactly one quarantine entry per bad uuid.
    counted = Counter(q["uuid"] for q in quarantined)
    doubled = {uid: n for uid, n in counted.items() if n > 1}
    assert not doubled, f"quarantined more than once: {doubled}"
    assert set(counted) == plan.bad

    # The record every tablet edited: one revision per edit that changed something, gapless.
    revisions = [r["revision"] for r in history["revisions"]]
    assert revisions == list(range(1, len(revisions) + 1)), revisions
    assert history["revision"] == 1 + len(plan.changing_edits) == revisions[-1]
    sources = Counter(r["submission_uuid"] for r in history["revisions"][1:])
    assert set(sources) == plan.changing_edits and set(sources.values()) == {1}, sources
    edit_revisions = [by_uuid[uid][0]["revision"] for uid in plan.changing_edits]
    assert sorted(edit_revisions) == list(range(2, 2 + len(plan.changing_edits)))
    for uid in plan.noop_edits:
        assert {r["status"] for r in by_uuid[uid]} <= {"accepted", "merged", "duplicate"}, by_uuid[uid]

    print(f"{len(answered)} batches from {TABLETS} tablets answered in {pushed_s:.1f} s", file=sys.stderr)
