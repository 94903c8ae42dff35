"""Splitting a body's top level without recursion, for bodies too deep for msgspec."""

from __future__ import annotations

import msgspec
import pytest

from sync import split
from sync.batch import decode_batch, parse_item
from sync.errors import MalformedBatch


def test_json_members_skip_brackets_commas_and_escaped_quotes_inside_strings() -> None:
    body = b' {"a": [1, {"x": "]},\\"\\\\"}], "b\\"": "s,:{", "c": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    members = split.json_members(body)
    assert [k for k, _ in members] == [b'"a"', b'"b\\""', b'"c"']
    assert msgspec.json.decode(members[0][1]) == [1, {"x": ']},"\\'}]
    assert members[2][1] == b"[" * 5000 + b"]" * 5000
    assert split.json_elements(b"[ ]") == [] and split.json_elements(b'[1, [2,3], "a,b"]') == [
        b"1",
        b"[2,3]",
        b'"a,b"',
    ]


@pytest.mark.parametrize("body", [b"", b"  ", b"[1]", b'{"a": [1', b'{"a"}'])
def test_json_that_is_no_object_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedBatch):
        split.json_members(body)


def test_msgpack_members_skip_every_kind_of_value_at_any_depth() -> None:
    value = {
        "a": [1, -5, 2**40, 1.5, None, True, {"b": b"xx"}],
        "c": msgspec.msgpack.Ext(3, b"abc"),
        "d": "ก" * 100,
        "e": list(range(70_000)),
    }
    members = split.msgpack_members(msgspec.msgpack.encode(value))
    assert {msgspec.msgpack.decode(k): msgspec.msgpack.decode(v) for k, v in members} == value
    deep = b"\x81\xa1x" + b"\x91" * 100_000 + b"\xc0"
    [(key, inner)] = split.msgpack_members(deep)
    assert key == b"\xa1x" and len(inner) == 100_001


@pytest.mark.parametrize(
    "body", [b"", b"\x91\x01", b"\x81\xa1x", b"\x81\xa1x\xc1", b"\x81\xa1x\xdb\xff\xff\xff\xff"]
)
def test_msgpack_that_is_no_map_or_is_cut_short_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedBatch):
        split.msgpack_members(body)


def test_a_batch_too_deep_for_msgspec_still_splits_into_items() -> None:
    deep = (
        b'{"uuid": "deep", "form": "f", "version": "v", "answers": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    )
    good = msgspec.json.encode({"uuid": "good", "form": "f", "version": "v", "answers": {}})
    body = (
        b'{"device_id": "t", "sent_at": "2026-11-20T17:00:00+07:00", "submissions": ['
        + deep
        + b","
        + good
        + b"]}"
    )
    batch = decode_batch(body, "json")
    assert batch.device_id == "t" and len(batch.submissions) == 2
    bad, ok = (parse_item(raw, "json") for raw in batch.submissions)
    assert bad.errors[0].code == "too_deep" and (bad.uuid, bad.form, bad.version) == ("deep", "f", "v")
    assert ok.uuid == "good"
