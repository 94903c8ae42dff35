"""What the intake log and records store of an item: any bytes made fit for PostgreSQL, at one place."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import msgspec

from sync.batch import Media

# Reading a payload only to check that PostgreSQL's json type takes its text as sent (1e999 included).
LENIENT_JSON = msgspec.json.Decoder(float_hook=float)
MSGPACK = msgspec.msgpack.Decoder()
JSON_NULL = msgspec.Raw(b"null")
NUL_ESCAPE = b"\\u0000"  # the JSON escape jsonb refuses


def payload_of(raw: msgspec.Raw, media: Media, *, parsed: bool) -> Any:
    """The item as the log keeps it; the one place that makes any bytes storable.

    JSON keeps its text as sent (a json column keeps NUL escapes and numbers like 1e999) whenever it
    is text PostgreSQL can read: always for an item that decoded (msgspec checked its UTF-8 and
    escapes); else when it decodes leniently. Anything else is kept as one JSON string of its text.
    MessagePack is decoded and made storable (NaN, bytes, NUL); failing that, its bytes in hex.
    """
    try:
        if media == "json":
            if not parsed:
                LENIENT_JSON.decode(raw)
            return raw
        payload = storable(MSGPACK.decode(raw))
        return JSON_NULL if payload is None else payload  # a nil item: JSON null, not SQL NULL
    except (msgspec.DecodeError, RecursionError):
        data = bytes(raw)
        return data.decode("utf-8", "replace") if media == "json" else data.hex()


def storable(value: Any) -> Any:
    """What PostgreSQL's jsonb and text accept: no NUL characters, no NaN or infinities, no bytes.

    Recursive: callers pass values whose depth is bounded (validated answers, problems) or catch
    RecursionError (`payload_of`).
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(storable(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int):
        return value
    return str(value)
