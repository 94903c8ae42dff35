"""What the log keeps of an item: any bytes made storable, the text as sent wherever it can be."""

from __future__ import annotations

import math

import msgspec
import pytest

from sync.payload import JSON_NULL, payload_of, storable


def test_json_that_decoded_is_kept_as_its_own_text() -> None:
    raw = msgspec.Raw(b'{"a": 1e999, "b": "\\u0000", "c": 1.0}')
    assert bytes(payload_of(raw, "json", parsed=True)) == bytes(raw)
    assert bytes(payload_of(raw, "json", parsed=False)) == bytes(raw)  # readable leniently: as sent


@pytest.mark.parametrize("text", [b'{"a": NaN}', b'"\\ud800"', b'{"a": "\xff"}', b"[" * 5000 + b"]" * 5000])
def test_json_that_cannot_be_read_is_kept_as_one_string_of_its_text(text: bytes) -> None:
    kept = payload_of(msgspec.Raw(text), "json", parsed=False)
    assert isinstance(kept, str) and kept == text.decode("utf-8", "replace")


def test_msgpack_is_decoded_and_made_storable() -> None:
    value = {"a": float("nan"), "b": b"\x01\xff", "c": "x\x00y", 3: [math.inf]}
    kept = payload_of(msgspec.Raw(msgspec.msgpack.encode(value)), "msgpack", parsed=False)
    assert kept == {"a": "nan", "b": "01ff", "c": "x\ufffdy", "3": ["inf"]}
    assert payload_of(msgspec.Raw(msgspec.msgpack.encode(None)), "msgpack", parsed=True) is JSON_NULL
    assert payload_of(msgspec.Raw(b"\xc1"), "msgpack", parsed=False) == "c1"  # not MessagePack: its hex


def test_storable_values_fit_jsonb() -> None:
    assert storable({"k\x00": ["\x00", -math.inf, 1, True, None]}) == {
        "k\ufffd": ["\ufffd", "-inf", 1, True, None]
    }
    assert msgspec.json.encode(storable(msgspec.msgpack.Ext(1, b"x")))  # anything else becomes text
