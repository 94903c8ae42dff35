"""One poisoned item never costs its batch: each hostile shape is rejected alone, into the quarantine."""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec
from httpx import AsyncClient

from tests.factories import SYNC, batch, item, submission

QUARANTINE = "/api/v1/projects/korat/quarantine"


async def send(client: AsyncClient, who: Any, raw: bytes, media: str = "application/json") -> list[dict]:
    response = await client.post(SYNC, content=raw, headers={**who.headers, "Content-Type": media})
    assert response.status_code == 200, response.text
    return response.json()["results"]


async def quarantine(client: AsyncClient, coordinator: Any) -> list[dict[str, Any]]:
    response = await client.get(f"{QUARANTINE}?limit=1000", headers=coordinator.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


async def test_device_times_at_the_ends_of_the_calendar_are_kept(client: AsyncClient, field) -> None:
    _coordinator, volunteer = field
    early = item(started_at="0001-01-01T00:00:00+07:00")
    late = item(ended_at="9999-12-31T23:59:59-07:00")
    results = await send(client, volunteer, msgspec.json.encode(batch(early, late, item())))
    assert [r["status"] for r in results] == ["accepted", "accepted", "accepted"], results
    assert [i["code"] for i in results[0]["issues"]] == ["implausible_time"]
    assert results[0]["issues"][0]["loc"] == ["started_at"]
    assert [i["code"] for i in results[1]["issues"]] == ["implausible_time"]


async def test_a_batch_sent_from_year_one_is_still_stored(client: AsyncClient, field) -> None:
    _, volunteer = field
    body = batch(item(), sent_at="0001-01-01T00:00:00+07:00")
    results = await send(client, volunteer, msgspec.json.encode(body))
    assert [r["status"] for r in results] == ["accepted"]


async def test_null_and_scalar_items_are_rejected_alone(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    good = item()
    raw = b'{"device_id": "t", "submissions": [null, 7, "x", ' + msgspec.json.encode(good) + b"]}"
    results = await send(client, volunteer, raw)
    assert [r["status"] for r in results] == ["rejected", "rejected", "rejected", "accepted"]
    assert all(r["errors"][0]["code"] == "not_an_object" for r in results[:3])
    payloads = sorted(json.dumps(q["payload"]) for q in await quarantine(client, coordinator))
    assert payloads == sorted(["null", "7", '"x"'])


async def test_nul_characters_anywhere_cost_only_their_item(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    items = [
        item(answers={"bad\x00key": 1}),
        item(answers={"trees": [{"spe\x00cies": "x"}]}),
        item(form="side\x00walk"),
        item(version="v\x001"),
        item(uuid="u\x00" + str(uuid.uuid4())),
        item(),
    ]
    results = await send(client, volunteer, msgspec.json.encode(batch(*items, device_id="tab\x00let")))
    # A NUL in an answer's name is stored as U+FFFD, like one in its text; in a name the item is
    # filed under, it costs the item.
    assert [r["status"] for r in results] == [
        "accepted",
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert [(i["loc"], i["code"]) for i in results[0]["issues"]] == [
        (["answers", "bad\ufffdkey"], "unknown_field")
    ]
    assert [(i["loc"], i["code"]) for i in results[1]["issues"]] == [
        (["answers", "trees", 0, "spe\ufffdcies"], "unknown_field")
    ]
    assert [[(e["loc"], e["code"]) for e in r["errors"]] for r in results[2:5]] == [
        [(["form"], "invalid")],
        [(["version"], "invalid")],
        [(["uuid"], "invalid")],
    ]
    assert len(await quarantine(client, coordinator)) == 3


async def test_msgpack_extension_and_binary_values_are_rejected_with_their_place(
    client: AsyncClient, field
) -> None:
    coordinator, volunteer = field
    odd = item(answers={"shop_name": msgspec.msgpack.Ext(5, b"\x01\x02")})
    raw_bytes = item(answers={"trees": [{"species": b"\xff\x00"}]})
    body = msgspec.msgpack.encode(batch(odd, raw_bytes, item()))
    results = await send(client, volunteer, body, "application/msgpack")
    assert [r["status"] for r in results] == ["rejected", "rejected", "accepted"], results
    assert results[0]["errors"][0]["loc"] == ["answers", "shop_name"]
    assert results[1]["errors"][0]["loc"] == ["answers", "trees", 0, "species"]
    assert len(await quarantine(client, coordinator)) == 2


async def test_deep_answers_are_rejected_alone(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    for depth in (500, 5000):
        deep = item(answers={"shop_name": nested(depth)})
        raw = msgspec.json.encode(batch(deep, item())) if depth < 900 else None
        if raw is None:  # msgspec itself cannot encode this deep: write the text by hand
            text = b"[" * depth + b'"x"' + b"]" * depth
            raw = msgspec.json.encode(batch(deep | {"answers": {}}, item())).replace(
                b'"answers":{}', b'"answers":{"shop_name":' + text + b"}", 1
            )
        results = await send(client, volunteer, raw)
        assert [r["status"] for r in results] == ["rejected", "accepted"], (depth, results)
        assert results[0]["errors"][0]["code"] == "too_deep"
        assert results[0]["uuid"] == deep["uuid"]
    assert len(await quarantine(client, coordinator)) == 2


async def test_deep_msgpack_item_is_rejected_alone(client: AsyncClient, field) -> None:
    _coordinator, volunteer = field
    good = item()
    inner = b"\x91" * 5000 + b"\xc0"  # 5,000 one-element arrays around a nil
    deep = msgspec.msgpack.encode({"uuid": "deep-1", "form": "sidewalk_audit", "version": "v1"})
    deep = (
        bytes([deep[0] + 1])
        + deep[1:]
        + msgspec.msgpack.encode("answers")
        + b"\x81"
        + msgspec.msgpack.encode("x")
        + inner
    )
    envelope = b"\x82" + msgspec.msgpack.encode("device_id") + msgspec.msgpack.encode("t")
    envelope += msgspec.msgpack.encode("submissions") + b"\x92" + deep + msgspec.msgpack.encode(good)
    results = await send(client, volunteer, envelope, "application/msgpack")
    assert [r["status"] for r in results] == ["rejected", "accepted"], results
    assert results[0]["errors"][0]["code"] == "too_deep" and results[0]["uuid"] == "deep-1"


async def test_a_long_text_answer_is_rejected_not_the_batch(client: AsyncClient, field) -> None:
    _, volunteer = field
    long = item(answers={"shop_name": "ก" * 70_000})
    results = await send(client, volunteer, msgspec.json.encode(batch(long, item())))
    assert [r["status"] for r in results] == ["rejected", "accepted"]
    assert results[0]["errors"][0]["code"] == "too_long"
    assert results[0]["errors"][0]["loc"] == ["answers", "shop_name"]


async def test_quarantine_keeps_the_text_as_sent_and_the_form_it_names(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    huge = item(answers={"width_m": "HUGE"})
    raw = msgspec.json.encode(batch(huge)).replace(b'"HUGE"', b"1e999")
    [result] = await send(client, volunteer, raw)
    assert result["status"] == "rejected" and result["errors"][0]["code"] == "not_finite"
    listed = await client.get(QUARANTINE, headers=coordinator.headers)
    assert b'"width_m":1e999' in listed.content  # the number as it was written, not a string or null
    [kept] = listed.json()["items"]
    assert (kept["form"], kept["version"]) == ("sidewalk_audit", "v1")
    assert kept["payload"] == json.loads(raw)["submissions"][0]
    replayed = await client.post(f"{QUARANTINE}/{kept['id']}/replay", json={}, headers=coordinator.headers)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "rejected"
    assert replayed.json()["errors"] == result["errors"]


async def test_lone_surrogates_and_invalid_utf8_cost_only_their_item(client: AsyncClient, field) -> None:
    coordinator, volunteer = field
    lone = msgspec.json.encode(item(answers={"shop_name": "LONE"})).replace(b'"LONE"', b'"\\ud800x"')
    broken = msgspec.json.encode(item(answers={"shop_name": "BROKEN"})).replace(b"BROKEN", b"\xff\xfe")
    raw = b'{"submissions": [' + lone + b"," + broken + b"," + msgspec.json.encode(item()) + b"]}"
    results = await send(client, volunteer, raw)
    assert [r["status"] for r in results] == ["rejected", "rejected", "accepted"], results
    assert [[e["code"] for e in r["errors"]] for r in results[:2]] == [["malformed"], ["malformed"]]
    assert len(await quarantine(client, coordinator)) == 2


async def test_a_pattern_the_server_cannot_run_warns_at_upload_and_flags_nothing(
    client: AsyncClient, member
) -> None:
    coordinator = await member("coordinator")
    volunteer = await member("volunteer")
    form = {
        "key": "phones",
        "version": "v1",
        "title": "Phones",
        "fields": [
            {"name": "phone", "type": "text", "constraint": r"regex(., '(\d)\1')"},
            {"name": "code", "type": "text", "constraint": "regex(., '(a+)+$')"},
        ],
    }
    created = await client.post("/api/v1/projects/korat/forms", json=form, headers=coordinator.headers)
    assert created.status_code == 201, created.text
    [warning] = created.json()["warnings"]
    assert "phone" in warning and r"(\d)\1" in warning
    published = await client.post(
        "/api/v1/projects/korat/forms/phones/versions/v1/publish", headers=coordinator.headers
    )
    assert published.status_code == 200
    answers = {"phone": "0812345678", "code": "a" * 5_000 + "!"}
    [result] = await send(client, volunteer, msgspec.json.encode(batch(submission("phones", answers))))
    assert result["status"] == "accepted"
    assert [(i["loc"], i["code"]) for i in result["issues"]] == [(["answers", "code"], "constraint")]
