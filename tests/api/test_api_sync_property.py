"""Property: whatever a batch holds, every item is accounted for and a bad one costs only itself.

Batches mix good items with items drawn from hostile shapes (every JSON and MessagePack type in
every position, all Unicode planes, lone surrogates, huge and tiny numbers, deep and wide values,
control characters in names, device times at the calendar's ends). For every batch: a 200 with one
result per item in order, every good item accepted, every item that is certainly bad rejected with
located errors, every rejection in the quarantine, and no 500.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec
from httpx import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import SYNC, item

QUARANTINE = "/api/v1/projects/korat/quarantine?limit=1000"

# Any value either format can carry (the JSON side is written by `json.dumps`, which escapes lone
# surrogates and spells out NaN and infinities the way careless clients do).
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),  # what MessagePack can carry
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(codec=None), max_size=40),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
times = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+07:00", "9999-12-31T23:59:59-07:00", "2569-01-01T09:00:00+07:00"]),
    st.text(max_size=12),
)
names = st.one_of(
    st.text(max_size=20), st.just("sidewalk_audit"), st.just("v1"), st.text(min_size=256, max_size=300)
)


class Sent(msgspec.Struct, kw_only=True):
    """One item of a generated batch: its JSON text, MessagePack value, and what it must become."""

    json: bytes
    msgpack: Any
    good: bool  # a valid item: must be accepted
    bad: bool  # certainly invalid: must be rejected


def good_item() -> Sent:
    sent = item(answers={"shop_name": f"ร้าน {uuid.uuid4()}"})
    return Sent(json=msgspec.json.encode(sent), msgpack=sent, good=True, bad=False)


@st.composite
def hostile_item(draw: st.DrawFn) -> Sent:
    kind = draw(st.sampled_from(["value", "answers", "names", "times", "deep", "numbers", "wide"]))
    if kind == "value":  # anything but an object in the item's place
        value = draw(values.filter(lambda v: not isinstance(v, dict)))
        return Sent(json=dumps(value), msgpack=value, good=False, bad=True)
    sent = item(answers={"shop_name": f"ร้าน {uuid.uuid4()}"})
    if kind == "answers":  # wild answers: unknown keys are issues, wrong types errors; never a 500
        sent["answers"] = draw(st.dictionaries(st.text(max_size=8), values, max_size=6))
        return Sent(json=dumps(sent), msgpack=sent, good=False, bad=False)
    if kind == "names":
        key = draw(st.sampled_from(["uuid", "form", "version", "record_id"]))
        sent[key] = draw(st.one_of(names, values))
        return Sent(json=dumps(sent), msgpack=sent, good=False, bad=False)
    if kind == "times":
        sent[draw(st.sampled_from(["started_at", "ended_at"]))] = draw(times)
        return Sent(json=dumps(sent), msgpack=sent, good=False, bad=False)
    if kind == "deep":  # past the nesting answers may have, up to past what msgspec can decode
        depth = draw(st.integers(min_value=33, max_value=3000))
        text = b"[" * depth + b"1" + b"]" * depth
        raw = msgspec.json.encode(sent).replace(b'"shop_name":', b'"shop_name":' + text + b',"x":', 1)
        packed = b"\x91" * depth + b"\x01"
        return Sent(json=raw, msgpack=msgspec.Raw(packed), good=False, bad=True)
    if kind == "numbers":  # literals past what a float holds, as text only JSON can carry
        literal = draw(st.sampled_from([b"1e999", b"-1e999", b"123456789012345678901234567890", b"1e-400"]))
        raw = msgspec.json.encode(sent).replace(b'"shop_name":', b'"x":' + literal + b',"shop_name":', 1)
        return Sent(json=raw, msgpack=sent | {"x": float(literal)}, good=False, bad=False)
    width = draw(st.integers(min_value=1000, max_value=5000))  # wide: many unknown answers
    sent["answers"] = {**sent["answers"], **{f"k{i}": i for i in range(width)}}
    return Sent(json=dumps(sent), msgpack=sent, good=False, bad=False)


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()


batches = st.lists(st.one_of(st.builds(good_item), hostile_item()), min_size=1, max_size=8)


async def check(client: AsyncClient, field: Any, sent: list[Sent], msgpack: bool) -> None:
    coordinator, volunteer = field
    before = len((await client.get(QUARANTINE, headers=coordinator.headers)).json()["items"])
    if msgpack:
        body = packed_batch(sent)
        media = "application/msgpack"
    else:
        body = b'{"device_id": "tablet-07", "submissions": [' + b",".join(s.json for s in sent) + b"]}"
        media = "application/json"
    response = await client.post(SYNC, content=body, headers={**volunteer.headers, "Content-Type": media})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(sent)
    for s, result in zip(sent, results, strict=True):
        if s.good:
            assert result["status"] == "accepted", result
        if s.bad:
            assert result["status"] == "rejected", result
        if result["status"] == "rejected":
            assert result["errors"], result
            assert all(isinstance(e["loc"], list) and e["code"] and e["message"] for e in result["errors"])
    after = (await client.get(QUARANTINE, headers=coordinator.headers)).json()["items"]
    assert len(after) - before == sum(r["status"] == "rejected" for r in results)


def packed_batch(sent: list[Sent]) -> bytes:
    """A MessagePack batch written by hand, so items too deep for msgspec to encode still go in."""
    head = msgspec.msgpack.encode({"device_id": "tablet-07"})
    out = bytes([head[0] + 1]) + head[1:] + msgspec.msgpack.encode("submissions")
    out += b"\xdc" + len(sent).to_bytes(2, "big")
    for s in sent:
        out += s.msgpack if isinstance(s.msgpack, msgspec.Raw) else packable(s.msgpack)
    return out


def packable(value: Any) -> bytes:
    try:
        return msgspec.msgpack.encode(value)
    except UnicodeEncodeError:  # a lone surrogate: MessagePack strings are UTF-8, so send its bytes
        return msgspec.msgpack.encode(json.loads(json.dumps(value).replace("\\ud", "\\\\ud")))


PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(sent=batches)
async def test_any_json_batch_is_judged_item_by_item(client: AsyncClient, field, sent: list[Sent]) -> None:
    await check(client, field, sent, msgpack=False)


@PROPERTY
@given(sent=batches)
async def test_any_msgpack_batch_is_judged_item_by_item(client: AsyncClient, field, sent: list[Sent]) -> None:
    await check(client, field, sent, msgpack=True)
