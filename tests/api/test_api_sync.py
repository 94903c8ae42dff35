"""Sync over HTTP: batches that are never lost, never doubled, and reconciled field by field."""

from __future__ import annotations

import gzip
import uuid
from collections import Counter
from typing import Any

import msgspec
from httpx import AsyncClient
from sqlalchemy import text

from tests.factories import FORM, SYNC, Person, batch, item


async def push(client: AsyncClient, who: Person, body: Any) -> list[dict[str, Any]]:
    raw = msgspec.json.encode(body).replace(b'"INFINITY"', b"1e999")
    response = await client.post(
        SYNC, content=raw, headers={**who.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(body["submissions"]), "received = sum of statuses"
    return results


async def test_new_submission_is_accepted_and_a_retry_changes_nothing(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    first = item()
    [accepted] = await push(client, volunteer, batch(first))
    assert accepted["status"] == "accepted" and accepted["revision"] == 1 and accepted["errors"] == []
    [again] = await push(client, volunteer, batch(first))
    assert again["status"] == "duplicate" and again["record_id"] == accepted["record_id"]

    record = (
        await client.get(
            f"/api/v1/projects/korat/records/{accepted['record_id']}", headers=coordinator.headers
        )
    ).json()
    assert record["answers"]["shop_name"] == "ร้านข้าวแกงป้าศรี"
    assert record["location"] == {"lat": 14.973, "lon": 102.0836, "accuracy": 4.0}
    assert [r["revision"] for r in record["revisions"]] == [1]


async def test_same_uuid_with_other_content_goes_to_quarantine(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    first = item()
    await push(client, volunteer, batch(first))
    changed = {**first, "answers": {**first["answers"], "shop_name": "อื่น"}}
    [result] = await push(client, volunteer, batch(changed))
    assert result["status"] == "rejected" and result["errors"][0]["code"] == "uuid_conflict"
    quarantine = (await client.get("/api/v1/projects/korat/quarantine", headers=coordinator.headers)).json()
    assert [q["uuid"] for q in quarantine["items"]] == [first["uuid"]]
    assert quarantine["items"][0]["payload"]["answers"]["shop_name"] == "อื่น"


async def test_bad_items_are_judged_alone_and_accounted_for(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    twin = item()
    items = [
        item(),
        {"form": "sidewalk_audit", "version": "v1", "answers": {}},  # no uuid
        {"uuid": 12, "form": "sidewalk_audit", "version": "v1", "answers": {}},  # uuid not a string
        item() | {"answers": [1, 2]},  # answers a list
        item(version="never-published"),
        item(form="other_project_form"),
        item(answers={"location": {"lat": 102.08, "lon": 14.97}}),  # swapped
        item(answers={"location": {"lat": "INFINITY", "lon": 102.1}}),  # sent as the JSON number 1e999
        item(answers={"width_m": "wide"}),
        item(answers={"shop_name": "ร้าน" * 170_000}),  # a 2 MB text answer
        item(answers={"location": {"lat": 14.97, "lon": 102.1, "accuracy": 0}}),
        twin,
        twin,
        {**twin, "answers": {**twin["answers"], "shop_name": "x"}},
    ]
    results = await push(client, volunteer, batch(*items))
    statuses = [r["status"] for r in results]
    assert statuses == [
        "accepted", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected",
        "rejected", "rejected", "accepted", "accepted", "duplicate", "rejected",
    ]  # fmt: skip
    codes = [{e["code"] for e in r["errors"]} for r in results]
    assert "unknown_form_version" in codes[4] and "unknown_form_version" in codes[5]
    assert any("swapped" in e["message"] for e in results[6]["errors"])
    assert "uuid_conflict" in codes[13]
    assert codes[9] == {"too_long"} and results[9]["errors"][0]["loc"] == ["answers", "shop_name"]
    assert [i["code"] for i in results[10]["issues"]] == ["zero_accuracy"]
    assert results[10]["issues"][0]["loc"] == ["answers", "location"]
    quarantine = (await client.get("/api/v1/projects/korat/quarantine", headers=coordinator.headers)).json()
    assert len(quarantine["items"]) == Counter(statuses)["rejected"]


async def test_nan_in_msgpack_and_gzip_bodies(client: AsyncClient, field) -> None:
    _, volunteer = field
    body = batch(item(answers={"width_m": float("nan")}), item())
    response = await client.post(
        SYNC,
        content=msgspec.msgpack.encode(body),
        headers={**volunteer.headers, "Content-Type": "application/msgpack", "Accept": "application/msgpack"},
    )
    assert response.status_code == 200
    results = msgspec.msgpack.decode(response.content)["results"]
    assert [r["status"] for r in results] == ["rejected", "accepted"]

    packed = gzip.compress(msgspec.json.encode(batch(item())))
    ok = await client.post(
        SYNC,
        content=packed,
        headers={**volunteer.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert ok.status_code == 200 and ok.json()["results"][0]["status"] == "accepted"
    truncated = await client.post(
        SYNC,
        content=packed[: len(packed) // 2],
        headers={**volunteer.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert truncated.status_code == 400 and truncated.headers["content-type"].startswith(
        "application/problem+json"
    )
    bomb = gzip.compress(b"[" + b" " * (6 * 1024 * 1024) + b"]")  # inflates past the 4 MB test limit
    refused = await client.post(
        SYNC,
        content=bomb,
        headers={**volunteer.headers, "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert refused.status_code == 413


async def test_nul_characters_are_stored_not_fatal(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    results = await push(
        client,
        volunteer,
        batch(item(answers={"shop_name": "ร้าน\x00ป้าศรี"}), item(answers={"width_m": "\x00"})),
    )
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    record = (
        await client.get(
            f"/api/v1/projects/korat/records/{results[0]['record_id']}", headers=coordinator.headers
        )
    ).json()
    assert record["answers"]["shop_name"] == "ร้าน\ufffdป้าศรี"
    queue = (await client.get("/api/v1/projects/korat/quarantine", headers=coordinator.headers)).json()[
        "items"
    ]
    assert queue[0]["payload"]["answers"]["width_m"] == "\x00"  # the log keeps what was sent


async def test_envelope_problems(client: AsyncClient, field) -> None:
    _, volunteer = field
    assert (await push(client, volunteer, batch())) == []
    too_many = await client.post(
        SYNC, json=batch(*[{"uuid": str(i)} for i in range(1001)]), headers=volunteer.headers
    )
    assert too_many.status_code == 413
    garbage = await client.post(
        SYNC, content=b'{"submissions": [', headers={**volunteer.headers, "Content-Type": "application/json"}
    )
    assert garbage.status_code == 400
    wrong = await client.post(
        SYNC, content=b"<xml/>", headers={**volunteer.headers, "Content-Type": "text/xml"}
    )
    assert wrong.status_code == 415
    # Bad bytes inside one item cost that item only: the envelope is still a batch.
    nan = await client.post(
        SYNC,
        content=b'{"submissions": [{"uuid": "a", "answers": {"x": NaN}}, 7]}',
        headers={**volunteer.headers, "Content-Type": "application/json"},
    )
    assert nan.status_code == 200, nan.text
    assert [(r["status"], r["errors"][0]["code"]) for r in nan.json()["results"]] == [
        ("rejected", "malformed"),
        ("rejected", "not_an_object"),
    ]
    for broken in (b'{"submissions": [1, 2', b'{"submissions": 7}', b"[]", b'{"device_id": "x"}'):
        refused = await client.post(
            SYNC, content=broken, headers={**volunteer.headers, "Content-Type": "application/json"}
        )
        assert refused.status_code == 400, (broken, refused.text)


async def test_edits_merge_or_conflict_and_a_coordinator_resolves(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    [created] = await push(client, volunteer, batch(item()))
    rid = created["record_id"]

    def edit(**answers: Any) -> dict[str, Any]:
        return item(record_id=rid, base_revision=1, answers=answers)

    [head_edit] = await push(client, volunteer, batch(edit(width_m=2.5)))
    assert head_edit["status"] == "accepted" and head_edit["revision"] == 2

    # A stale edit (base 1) touching only the surface merges.
    [stale] = await push(client, volunteer, batch(edit(width_m=1.8, surface="brick")))
    assert stale["status"] == "merged" and stale["revision"] == 3

    # A stale edit changing width again, differently, conflicts; its other change still applies.
    [clash] = await push(client, volunteer, batch(edit(width_m=3.0, shop_name="ป้าศรี")))
    assert clash["status"] == "conflict" and clash["conflict_id"]
    record = (await client.get(f"/api/v1/projects/korat/records/{rid}", headers=coordinator.headers)).json()
    assert record["status"] == "conflict"
    assert (
        record["answers"]["width_m"] == 2.5
        and record["answers"]["surface"] == "brick"
        and record["answers"]["shop_name"] == "ป้าศรี"
    )

    # An identical stale change is not a conflict.
    [same] = await push(client, volunteer, batch(edit(width_m=2.5)))
    assert same["status"] == "merged"

    conflicts = (
        await client.get("/api/v1/projects/korat/review/conflicts", headers=coordinator.headers)
    ).json()["items"]
    assert [c["fields"] for c in conflicts] == [
        [{"path": "width_m", "base": 1.8, "current": 2.5, "incoming": 3.0}]
    ]
    resolved = await client.post(
        f"/api/v1/projects/korat/review/conflicts/{conflicts[0]['id']}",
        json={"choose": {"width_m": "incoming"}},
        headers=coordinator.headers,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["answers"]["width_m"] == 3.0 and resolved.json()["status"] == "ok"
    assert (await client.get("/api/v1/projects/korat/review/conflicts", headers=coordinator.headers)).json()[
        "items"
    ] == []

    # Edits of unknown records or revisions are rejected, not lost.
    [ghost] = await push(client, volunteer, batch(item(record_id=str(uuid.uuid4()), base_revision=1)))
    assert ghost["status"] == "rejected" and ghost["errors"][0]["code"] == "unknown_record"
    [future] = await push(client, volunteer, batch(item(record_id=rid, base_revision=99)))
    assert future["status"] == "rejected"


async def test_coordinator_patch_is_409_when_stale(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    [created] = await push(client, volunteer, batch(item()))
    url = f"/api/v1/projects/korat/records/{created['record_id']}"
    ok = await client.patch(
        url, json={"base_revision": 1, "answers": {"width_m": 4}}, headers=coordinator.headers
    )
    assert (
        ok.status_code == 200
        and ok.json()["revision"] == 2
        and ok.json()["revisions"][1]["changed"] == ["width_m"]
    )
    stale = await client.patch(
        url, json={"base_revision": 1, "answers": {"width_m": 5}}, headers=coordinator.headers
    )
    assert stale.status_code == 409
    bad = await client.patch(
        url, json={"base_revision": 2, "answers": {"width_m": "wide"}}, headers=coordinator.headers
    )
    assert bad.status_code == 422
    refused = await client.patch(
        url, json={"base_revision": 2, "answers": {"width_m": 5}}, headers=volunteer.headers
    )
    assert refused.status_code == 403


async def test_quarantine_replay_and_discard(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    broken = item(answers={"width_m": "wide"})
    results = await push(client, volunteer, batch(broken, item(version="nope")))
    assert [r["status"] for r in results] == ["rejected", "rejected"]
    queue = (await client.get("/api/v1/projects/korat/quarantine", headers=coordinator.headers)).json()[
        "items"
    ]
    assert len(queue) == 2
    fixed = {**broken, "answers": {**broken["answers"], "width_m": 2.0}}
    [wide] = [q for q in queue if q["uuid"] == broken["uuid"]]
    [other] = [q for q in queue if q["uuid"] != broken["uuid"]]
    replayed = await client.post(
        f"/api/v1/projects/korat/quarantine/{wide['id']}/replay",
        json={"submission": fixed},
        headers=coordinator.headers,
    )
    assert replayed.status_code == 200 and replayed.json()["status"] == "accepted", replayed.text
    discarded = await client.delete(
        f"/api/v1/projects/korat/quarantine/{other['id']}", headers=coordinator.headers
    )
    assert discarded.status_code == 204
    assert (await client.get("/api/v1/projects/korat/quarantine", headers=coordinator.headers)).json()[
        "items"
    ] == []
    # The tablet's retry of the fixed uuid is now a duplicate of the replayed result.
    [retry] = await push(client, volunteer, batch(fixed))
    assert retry["status"] == "duplicate" and retry["record_id"] == replayed.json()["record_id"]


async def test_change_feed_pages_every_change_once_and_hides_sensitive(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    results = await push(client, volunteer, batch(*[item() for _ in range(5)]))
    rid = results[0]["record_id"]
    await push(client, volunteer, batch(item(record_id=rid, base_revision=1, answers={"width_m": 9})))

    seen: list[tuple[str, int]] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2} | ({"since": cursor} if cursor else {})
        page = (await client.get(f"{SYNC}/changes", params=params, headers=volunteer.headers)).json()
        seen += [(r["record_id"], r["revision"]) for r in page["items"]]
        assert all(r["answers"].get("owner_phone") is None for r in page["items"])
        cursor = page["next"]
        if not page["more"]:
            break
    # Each record once, at its latest revision; the edited one last.
    assert len(seen) == 5 and seen[-1] == (rid, 2)
    assert (await client.get(f"{SYNC}/changes", params={"since": cursor}, headers=volunteer.headers)).json()[
        "items"
    ] == []
    full = (await client.get(f"{SYNC}/changes", headers=coordinator.headers)).json()
    assert full["items"][0]["answers"]["owner_phone"] == "0812345678"


async def test_records_list_filters(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    await push(client, volunteer, batch(item(), item(answers={"location": {"lat": 14.99, "lon": 102.2}})))
    url = "/api/v1/projects/korat/forms/sidewalk_audit/records"
    everything = (await client.get(url, headers=coordinator.headers)).json()["items"]
    assert len(everything) == 2
    boxed = (
        await client.get(url, params={"bbox": "102.0,14.9,102.1,15.0"}, headers=coordinator.headers)
    ).json()["items"]
    assert len(boxed) == 1
    assert (await client.get(url, params={"bbox": "x"}, headers=coordinator.headers)).status_code == 400
    assert (await client.get(url, headers=volunteer.headers)).status_code == 403


async def test_area_accuracy_and_clock_skew(client: AsyncClient, admin: Person, sessionmaker) -> None:
    from sqlalchemy import select

    from survey_api.db import tables

    moat = [[[102.09, 14.96], [102.13, 14.96], [102.13, 14.99], [102.09, 14.99], [102.09, 14.96]]]
    created = await client.post(
        "/api/v1/projects",
        json={"slug": "moat", "name": "Old city moat", "area": {"type": "Polygon", "coordinates": moat}},
        headers=admin.headers,
    )
    assert created.status_code == 201
    await client.post("/api/v1/projects/moat/forms", json=FORM, headers=admin.headers)
    await client.post("/api/v1/projects/moat/forms/sidewalk_audit/versions/v1/publish", headers=admin.headers)
    inside = item(answers={"location": "14.975 102.1 180 150"}, ended_at="2026-11-20T09:00:00+07:00")
    outside = item(answers={"location": {"lat": 15.2, "lon": 102.5, "accuracy": 5}})
    # The tablet's clock is one hour behind the server's.
    from datetime import UTC, datetime, timedelta

    sent_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = await client.post(
        "/api/v1/projects/moat/sync",
        json={"device_id": "tablet-03", "sent_at": sent_at, "submissions": [inside, outside]},
        headers=admin.headers,
    )
    first, second = response.json()["results"]
    assert [i["code"] for i in first["issues"]] == ["low_accuracy"]
    assert [i["code"] for i in second["issues"]] == ["outside_area"]
    async with sessionmaker() as db:
        row = await db.scalar(select(tables.Submission).where(tables.Submission.uuid == inside["uuid"]))
    assert row is not None and row.device_id == "tablet-03"
    assert abs(row.clock_skew_s - 3600) < 60
    assert row.ended_at_raw == datetime.fromisoformat("2026-11-20T09:00:00+07:00")
    assert abs((row.ended_at - row.ended_at_raw).total_seconds() - 3600) < 60


async def test_a_first_revision_gets_its_answers_when_the_record_moves_on(
    client: AsyncClient, field, sessionmaker
) -> None:
    """Intake writes a new record once; the first update writes revision 1 from it (migration 0003)."""
    coordinator, volunteer = field
    [created] = await push(client, volunteer, batch(item()))
    record_id = uuid.UUID(created["record_id"])

    async def first_revision() -> Any:
        async with sessionmaker() as db:
            return await db.scalar(
                text("SELECT answers FROM record_revisions WHERE record_id = :r AND revision = 1"),
                {"r": record_id},
            )

    assert await first_revision() is None  # no row yet: the record's own row is revision 1
    original = (
        await client.get(f"/api/v1/projects/korat/records/{record_id}", headers=coordinator.headers)
    ).json()
    [first] = original["revisions"]
    assert (first["revision"], first["kind"], first["submission_uuid"]) == (1, "create", created["uuid"])
    assert first["user_id"] == volunteer.id
    patched = await client.patch(
        f"/api/v1/projects/korat/records/{record_id}",
        json={"base_revision": 1, "answers": {"width_m": 3.5}},
        headers=coordinator.headers,
    )
    assert patched.status_code == 200, patched.text
    assert await first_revision() == original["answers"]
    history = patched.json()["revisions"]
    assert [(r["revision"], r["kind"]) for r in history] == [(1, "create"), (2, "edit")]
    assert history[0] == first  # the same revision 1, now a row of its own


async def test_a_record_is_located_where_its_merged_answers_put_it(client: AsyncClient, field) -> None:
    """A stale edit whose move of the point conflicts keeps the head's point, in answers and columns."""
    coordinator, volunteer = field
    [created] = await push(client, volunteer, batch(item()))
    rid = created["record_id"]
    moved = {"lat": 14.9740, "lon": 102.0840, "accuracy": 3.0}
    elsewhere = {"lat": 14.9750, "lon": 102.0850, "accuracy": 3.0}
    [head] = await push(
        client, volunteer, batch(item(record_id=rid, base_revision=1, answers={"location": moved}))
    )
    assert head["status"] == "accepted"
    stale = item(record_id=rid, base_revision=1, answers={"location": elsewhere, "width_m": 2.0})
    [clash] = await push(client, volunteer, batch(stale))
    assert clash["status"] == "conflict"

    record = (await client.get(f"/api/v1/projects/korat/records/{rid}", headers=coordinator.headers)).json()
    assert record["answers"]["location"]["lat"] == moved["lat"] and record["answers"]["width_m"] == 2.0
    assert record["location"] == moved
    inside = await client.get(
        "/api/v1/projects/korat/forms/sidewalk_audit/records",
        params={"bbox": "102.0839,14.9739,102.0841,14.9741"},
        headers=coordinator.headers,
    )
    assert [r["record_id"] for r in inside.json()["items"]] == [rid]
