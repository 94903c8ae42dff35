"""Duplicates over HTTP: automatic folds, the review queue, decisions, undo and the rescan job."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from sync.candidates import nested
from tests.factories import HERE, SYNC, Person, batch, shop, submission

BASE = "/api/v1/projects/korat"
POLICY = {
    "radius_m": 25,
    "match_fields": ["shop_name"],
    "auto_merge_score": 0.85,
    "review_score": 0.6,
}


@pytest.fixture
async def team(client: AsyncClient, field: tuple[Person, Person]) -> tuple[Person, Person]:
    """The coordinator and volunteer of `field`, with the duplicate POLICY set on `sidewalk_audit`."""
    coordinator, _ = field
    policy = await client.put(f"{BASE}/forms/sidewalk_audit/dedup", json=POLICY, headers=coordinator.headers)
    assert policy.status_code == 200, policy.text
    return field


async def push(
    client: AsyncClient, who: Person, *items: dict[str, Any], device: str = "tablet-07"
) -> list[dict[str, Any]]:
    response = await client.post(SYNC, json=batch(*items, device_id=device), headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def record(client: AsyncClient, who: Person, record_id: str) -> dict[str, Any]:
    response = await client.get(f"{BASE}/records/{record_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def pairs(client: AsyncClient, who: Person, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{BASE}/review/duplicates", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def decide(
    client: AsyncClient, who: Person, pair_id: str, body: dict[str, Any], status: int = 200
) -> dict[str, Any]:
    response = await client.post(f"{BASE}/review/duplicates/{pair_id}", json=body, headers=who.headers)
    assert response.status_code == status, response.text
    return response.json()


def state(view: dict[str, Any]) -> dict[str, Any]:
    """What undo must restore exactly (the revision number moves on, by design)."""
    keep = ("answers", "location", "status", "duplicate_of", "merged_into", "observations", "issues")
    return {k: view[k] for k in keep}


async def test_the_same_shop_seen_again_is_folded_into_the_first_record(client: AsyncClient, team) -> None:
    coordinator, volunteer = team
    [first] = await push(client, volunteer, shop("ร้านข้าวแกงป้าศรี", accuracy=12.0, at="09:00"))
    again = shop("ร้านข้าวแกง ป้าศรี", north_m=6, accuracy=3.0, at="10:00", width_m=1.5)
    [second] = await push(client, volunteer, again, device="tablet-09")

    assert first["status"] == "accepted"
    assert second["status"] == "merged_duplicate"
    assert second["duplicate_of"] == first["record_id"] == second["record_id"]
    assert second["score"] >= POLICY["auto_merge_score"] and second["revision"] == 2
    merged = await record(client, coordinator, first["record_id"])
    assert merged["observations"] == 2 and merged["status"] == "ok"
    assert merged["answers"]["width_m"] == 1.5  # latest non-empty
    assert merged["answers"]["shop_name"] == "ร้านข้าวแกง ป้าศรี"  # the later spelling
    assert merged["location"]["accuracy"] == 3.0  # best accuracy wins the location
    assert [r["kind"] for r in merged["revisions"]] == ["create", "merge"]

    [auto] = await pairs(client, coordinator, decided="true")
    assert auto["decided_by"] == "system" and auto["decision"] == "merge"
    assert auto["candidate_id"] == first["record_id"] and auto["kept_id"] == first["record_id"]
    assert auto["breakdown"]["fields"] == {"shop_name": 1.0}
    assert 5.5 < auto["breakdown"]["distance_m"] < 6.5
    sources = {o["record_id"]: o["kind"] for o in merged["observation_list"]}
    assert sources == {first["record_id"]: "survey", auto["record_id"]: "survey"}

    folded = await record(client, coordinator, auto["record_id"])
    assert folded["status"] == "merged" and folded["merged_into"] == first["record_id"]
    feed = (await client.get(f"{BASE}/sync/changes", headers=volunteer.headers)).json()["items"]
    assert {r["record_id"]: r["merged_into"] for r in feed}[auto["record_id"]] == first["record_id"]


async def test_undo_of_an_automatic_merge_restores_both_records_exactly(client: AsyncClient, team) -> None:
    coordinator, volunteer = team
    [first] = await push(client, volunteer, shop("ร้านข้าวแกงป้าศรี", accuracy=12.0, at="09:00"))
    before = state(await record(client, coordinator, first["record_id"]))
    [second] = await push(
        client, volunteer, shop("ร้านข้าวแกงป้าศรี", north_m=4, accuracy=3.0, at="11:00", width_m=2.0)
    )
    assert second["status"] == "merged_duplicate"
    [auto] = await pairs(client, coordinator, decided="true")
    away_before = state(await record(client, coordinator, auto["record_id"]))

    undone = await decide(client, coordinator, auto["id"], {"decision": "undo"})
    assert undone["decision"] is None and undone["kept_id"] is None

    assert state(await record(client, coordinator, first["record_id"])) == before
    back = await record(client, coordinator, auto["record_id"])
    assert back["merged_into"] is None and back["status"] == "possible_duplicate"
    assert back["duplicate_of"] == first["record_id"]
    assert back["answers"] == away_before["answers"] and back["location"] == away_before["location"]
    assert [p["id"] for p in await pairs(client, coordinator, decided="false")] == [auto["id"]]
    await decide(client, coordinator, auto["id"], {"decision": "undo"}, status=409)


async def test_undo_of_a_merge_within_one_batch_gives_the_first_record_its_own_answers_back(
    client: AsyncClient, team
) -> None:
    coordinator, volunteer = team
    first, second = await push(
        client,
        volunteer,
        shop("ร้านข้าวแกงป้าศรี", accuracy=12.0, at="09:00"),
        shop("ร้านข้าวแกงป้าศรี", north_m=4, accuracy=3.0, at="11:00", width_m=2.0),
    )
    assert first["status"] == "accepted" and second["status"] == "merged_duplicate"
    [auto] = await pairs(client, coordinator, decided="true")

    await decide(client, coordinator, auto["id"], {"decision": "undo"})
    survivor = await record(client, coordinator, first["record_id"])
    assert "width_m" not in survivor["answers"] and survivor["location"]["accuracy"] == 12.0
    assert survivor["observations"] == 1 and survivor["merged_into"] is None


async def test_a_similar_name_waits_for_review_and_distinct_is_never_proposed_again(
    client: AsyncClient, team
) -> None:
    coordinator, volunteer = team
    [first] = await push(client, volunteer, shop("ร้านก๋วยเตี๋ยวเรือ", at="09:00"))
    [second] = await push(client, volunteer, shop("ร้านก๋วยเตี๋ยวต้มยำ", north_m=8, at="09:30"))
    assert second["status"] == "possible_duplicate" and second["duplicate_of"] == first["record_id"]
    assert second["record_id"] != first["record_id"]
    flagged = await record(client, coordinator, second["record_id"])
    assert flagged["status"] == "possible_duplicate"
    [queued] = await pairs(client, coordinator, decided="false")
    assert queued["record_id"] == second["record_id"] and queued["decision"] is None
    assert 0.6 <= queued["score"] < 0.85 and 0 < queued["breakdown"]["fields"]["shop_name"] < 1

    distinct = await decide(client, coordinator, queued["id"], {"decision": "distinct"})
    assert distinct["decision"] == "distinct" and distinct["decided_by"] == coordinator.email
    cleared = await record(client, coordinator, second["record_id"])
    assert cleared["status"] == "ok" and cleared["duplicate_of"] is None
    await decide(client, coordinator, queued["id"], {"decision": "merge"}, status=409)

    job = await rescan(client, coordinator)
    assert job["status"] == "done" and job["proposed"] == 0 and job["merged"] == 0
    assert await pairs(client, coordinator, decided="false") == []

    await decide(client, coordinator, queued["id"], {"decision": "undo"})
    reopened = await record(client, coordinator, second["record_id"])
    assert reopened["status"] == "possible_duplicate" and reopened["duplicate_of"] == first["record_id"]


async def test_a_reviewer_merge_can_keep_the_newer_record_and_be_undone(client: AsyncClient, team) -> None:
    coordinator, volunteer = team
    [first] = await push(client, volunteer, shop("ร้านก๋วยเตี๋ยวเรือ", at="09:00", owner_phone="0811111111"))
    [second] = await push(client, volunteer, shop("ร้านก๋วยเตี๋ยวต้มยำ", north_m=8, at="09:30", width_m=3.0))
    older = state(await record(client, coordinator, first["record_id"]))
    newer = state(await record(client, coordinator, second["record_id"]))
    [queued] = await pairs(client, coordinator, decided="false")

    merged = await decide(
        client, coordinator, queued["id"], {"decision": "merge", "keep": second["record_id"]}
    )
    assert merged["decision"] == "merge" and merged["kept_id"] == second["record_id"]
    kept = await record(client, coordinator, second["record_id"])
    assert kept["status"] == "ok" and kept["observations"] == 2 and kept["duplicate_of"] is None
    assert kept["answers"]["owner_phone"] == "0811111111" and kept["answers"]["width_m"] == 3.0
    away = await record(client, coordinator, first["record_id"])
    assert away["merged_into"] == second["record_id"] and away["status"] == "merged"
    patch = await client.patch(
        f"{BASE}/records/{first['record_id']}",
        json={"base_revision": away["revision"], "answers": {"width_m": 1.0}},
        headers=coordinator.headers,
    )
    assert patch.status_code == 409

    await decide(client, coordinator, queued["id"], {"decision": "undo"})
    assert state(await record(client, coordinator, second["record_id"])) == newer
    assert state(await record(client, coordinator, first["record_id"])) == older


async def test_an_edit_after_a_merge_survives_its_undo(client: AsyncClient, team) -> None:
    coordinator, volunteer = team
    [first] = await push(client, volunteer, shop("ร้านข้าวแกงป้าศรี", at="09:00"))
    [second] = await push(client, volunteer, shop("ร้านข้าวแกงป้าศรี", north_m=3, at="10:00", width_m=2.5))
    assert second["status"] == "merged_duplicate"
    survivor = await record(client, coordinator, first["record_id"])
    patch = await client.patch(
        f"{BASE}/records/{first['record_id']}",
        json={"base_revision": survivor["revision"], "answers": {"surface": "brick"}},
        headers=coordinator.headers,
    )
    assert patch.status_code == 200, patch.text
    [auto] = await pairs(client, coordinator, decided="true")
    await decide(client, coordinator, auto["id"], {"decision": "undo"})
    after = await record(client, coordinator, first["record_id"])
    assert after["answers"]["surface"] == "brick"  # the coordinator's edit stays
    assert after["answers"].get("width_m") is None  # the folded record's answer leaves with it
    assert after["observations"] == 1 and after["observation_list"] == []


async def test_items_of_one_batch_are_compared_with_each_other(
    client: AsyncClient, team, sessionmaker
) -> None:
    coordinator, volunteer = team
    one, two, elsewhere = (
        shop("ร้านข้าวแกงป้าศรี", at="09:00"),
        shop("ร้านข้าวแกงป้าศรี", north_m=5, at="09:20"),
        shop("ร้านข้าวแกงป้าศรี", north_m=200, at="09:40"),
    )
    results = await push(client, volunteer, one, two, elsewhere)
    assert [r["status"] for r in results] == ["accepted", "merged_duplicate", "accepted"]
    assert results[1]["record_id"] == results[0]["record_id"]
    survivor = await record(client, coordinator, results[0]["record_id"])
    assert survivor["observations"] == 2 and survivor["revision"] == 2
    assert [(r["revision"], r["kind"]) for r in survivor["revisions"]] == [(1, "create"), (2, "merge")]
    async with sessionmaker() as db:  # inserted at revision 2, it came with its first revision (a merge base)
        first = await db.scalar(
            text("SELECT answers FROM record_revisions WHERE record_id = :r AND revision = 1"),
            {"r": uuid.UUID(results[0]["record_id"])},
        )
    assert first is not None and first["shop_name"] == one["answers"]["shop_name"]


async def test_neighbouring_shops_with_other_names_stay_apart(client: AsyncClient, team) -> None:
    _, volunteer = team
    results = await push(
        client,
        volunteer,
        shop("ร้านข้าวแกงป้าศรี", at="09:00"),
        shop("ร้านซ่อมมอเตอร์ไซค์ช่างเอก", north_m=15, at="09:05"),
        shop("ร้านข้าวแกงป้าศรี", north_m=40, at="09:10"),  # beyond the 25 m radius
    )
    assert [r["status"] for r in results] == ["accepted", "accepted", "accepted"]


async def test_a_double_tap_is_a_duplicate_without_any_policy_or_location(client: AsyncClient, team) -> None:
    coordinator, volunteer = team
    cleared = await client.put(
        f"{BASE}/forms/sidewalk_audit/dedup", json={"radius_m": 0.001}, headers=coordinator.headers
    )
    assert cleared.status_code == 200
    tap = shop("ร้านข้าวแกงป้าศรี", at="09:00")
    del tap["answers"]["location"]
    twice = {**tap, "uuid": str(uuid.uuid4()), "ended_at": "2026-11-20T09:02:00+07:00"}
    later = {**tap, "uuid": str(uuid.uuid4()), "ended_at": "2026-11-20T11:00:00+07:00"}
    results = await push(client, volunteer, tap, twice, later)
    assert [r["status"] for r in results] == ["accepted", "merged_duplicate", "accepted"]
    [auto] = await pairs(client, coordinator, decided="true")
    assert auto["breakdown"]["double_tap"] is True and auto["score"] == 1.0
    other_device = {**tap, "uuid": str(uuid.uuid4())}
    [result] = await push(client, volunteer, other_device, device="tablet-11")
    assert result["status"] == "accepted"


async def rescan(client: AsyncClient, who: Person) -> dict[str, Any]:
    started = await client.post(f"{BASE}/forms/sidewalk_audit/dedup/rescan", headers=who.headers)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    status = await client.get(started.headers["location"], headers=who.headers)
    assert status.status_code == 200
    return status.json()


async def test_rescan_applies_a_new_policy_to_existing_records(client: AsyncClient, team) -> None:
    coordinator, volunteer = team
    loose = {"radius_m": 0.001}
    assert (
        await client.put(f"{BASE}/forms/sidewalk_audit/dedup", json=loose, headers=coordinator.headers)
    ).is_success
    results = await push(
        client,
        volunteer,
        shop("ร้านข้าวแกงป้าศรี", at="09:00"),
        shop("ร้านข้าวแกง ป้าศรี", north_m=4, at="09:10"),
        shop("ร้านก๋วยเตี๋ยวเรือ", north_m=100, at="09:20"),
        shop("ร้านก๋วยเตี๋ยวต้มยำ", north_m=108, at="09:30"),
        shop("ร้านซ่อมรองเท้า", north_m=300, at="09:40"),
    )
    assert {r["status"] for r in results} == {"accepted"}
    assert (
        await client.put(f"{BASE}/forms/sidewalk_audit/dedup", json=POLICY, headers=coordinator.headers)
    ).is_success

    job = await rescan(client, coordinator)
    assert job["status"] == "done" and job["progress"] == 1.0 and job["rows"] == 5
    assert job["merged"] == 1 and job["proposed"] == 1
    one, two = [await record(client, coordinator, r["record_id"]) for r in results[:2]]
    survivor, away = (one, two) if two["merged_into"] else (two, one)  # one batch: same creation time
    assert survivor["observations"] == 2 and survivor["merged_into"] is None
    assert away["merged_into"] == survivor["record_id"]
    [queued] = await pairs(client, coordinator, decided="false")
    assert {queued["record_id"], queued["candidate_id"]} == {results[2]["record_id"], results[3]["record_id"]}

    again = await rescan(client, coordinator)
    assert again["merged"] == 0 and again["proposed"] == 0
    missing = await client.get(
        f"{BASE}/forms/sidewalk_audit/dedup/rescan/{uuid.uuid4()}", headers=coordinator.headers
    )
    assert missing.status_code == 404


async def test_review_is_for_coordinators(client: AsyncClient, team) -> None:
    _, volunteer = team
    listing = await client.get(f"{BASE}/review/duplicates", headers=volunteer.headers)
    assert listing.status_code == 403
    started = await client.post(f"{BASE}/forms/sidewalk_audit/dedup/rescan", headers=volunteer.headers)
    assert started.status_code == 403


def test_candidates_carry_only_their_match_fields_nested_as_in_the_answers():
    assert nested(None) == {}
    assert nested({"shop/name": "ป้าศรี", "kind": "food", "missing": None}) == {
        "shop": {"name": "ป้าศรี"},
        "kind": "food",
    }
    assert nested({"shop": "ป้าศรี", "shop/name": "x"}) == {"shop": "ป้าศรี"}  # a value is not a group


async def test_a_match_field_inside_a_group_is_compared(client: AsyncClient, team) -> None:
    coordinator, volunteer = team
    stall = {
        "key": "market_stall",
        "version": "v1",
        "title": {"en": "Market stall"},
        "fields": [
            {"name": "location", "type": "geopoint", "required": True},
            {"name": "owner", "type": "group", "fields": [{"name": "name", "type": "text"}]},
        ],
        "dedup": {"radius_m": 25, "match_fields": ["owner/name"], "auto_merge_score": 0.85},
    }
    assert (await client.post(f"{BASE}/forms", json=stall, headers=coordinator.headers)).status_code == 201
    published = await client.post(
        f"{BASE}/forms/market_stall/versions/v1/publish", headers=coordinator.headers
    )
    assert published.status_code == 200, published.text

    def seen(owner: str, north_m: float) -> dict[str, Any]:
        point = {"lat": HERE[0] + north_m / 111_195.0, "lon": HERE[1], "accuracy": 5.0}
        return submission("market_stall", {"location": point, "owner": {"name": owner}})

    [first] = await push(client, volunteer, seen("ป้าศรี", 0))
    [again, other] = await push(client, volunteer, seen("ป้าศรี", 3), seen("ลุงชัย", 4))

    assert first["status"] == "accepted"
    assert again["status"] == "merged_duplicate" and again["record_id"] == first["record_id"]
    assert other["status"] == "accepted"  # close by, but another owner: the nested field was read
    [auto] = await pairs(client, coordinator, decided="true")
    assert auto["breakdown"]["fields"] == {"owner/name": 1.0}
