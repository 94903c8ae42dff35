"""Splitting a JSON or MessagePack container into its top-level parts without recursion.

msgspec decodes (and even skips) nested values recursively, so a body nested a few thousand levels
deep raises `RecursionError` before the batch can be split into items. These functions find the
parts of the top level without descending: JSON with a vectorised scan (strings masked, bracket depth
as a running sum), MessagePack with an iterative skipper. They serve only that fallback, so a deep
item costs its own rejection, not its batch's.
"""

from __future__ import annotations

import itertools

import numpy as np

from sync.errors import MalformedBatch

_WHITESPACE = b" \t\r\n"


def json_members(buf: bytes) -> list[tuple[bytes, bytes]]:
    """(key text, value text) of a JSON object's top level; keys still JSON-encoded."""
    parts = _json_parts(buf, ord("{"))
    members = []
    for begin, end, colon in parts:
        if colon < 0:
            raise MalformedBatch("not a batch: an object member has no value")
        members.append((buf[begin:colon].strip(_WHITESPACE), buf[colon + 1 : end].strip(_WHITESPACE)))
    return members


def json_elements(buf: bytes) -> list[bytes]:
    """The texts of a JSON array's top-level elements."""
    parts = _json_parts(buf, ord("["))
    return [buf[begin:end].strip(_WHITESPACE) for begin, end, _ in parts]


def _json_parts(buf: bytes, opener: int) -> list[tuple[int, int, int]]:
    """Top-level parts as (begin, end, first colon or -1) of the container that opens `buf`."""
    a = np.frombuffer(buf, dtype=np.uint8)
    first = len(buf) - len(buf.lstrip(_WHITESPACE))
    if first == len(buf) or a[first] != opener:
        kind = "an object" if opener == ord("{") else "an array"
        raise MalformedBatch(f"not a batch: expected {kind}")
    index = np.arange(len(a), dtype=np.int64)
    backslash = a == 0x5C
    last_plain = np.maximum.accumulate(np.where(backslash, -1, index))
    quotes = np.flatnonzero(a == 0x22)
    before = quotes - 1
    run = np.where(before >= 0, before - last_plain[np.maximum(before, 0)], 0)
    toggles = np.zeros(len(a), dtype=np.int8)
    toggles[quotes[run % 2 == 0]] = 1  # quotes not escaped by an odd run of backslashes
    inside = (np.cumsum(toggles, dtype=np.int64) % 2).astype(bool) | toggles.astype(bool)
    step = np.isin(a, (0x5B, 0x7B)).astype(np.int32) - np.isin(a, (0x5D, 0x7D)).astype(np.int32)
    step[inside] = 0
    depth = np.cumsum(step, dtype=np.int64)
    closed = np.flatnonzero(depth[first:] == 0)
    if not len(closed):
        raise MalformedBatch("not a batch: the body ends inside a container")
    close = first + int(closed[0])
    top = (depth == 1) & ~inside
    top[: first + 1] = False
    top[close:] = False
    commas = np.flatnonzero(top & (a == 0x2C))
    colons = np.flatnonzero(top & (a == 0x3A))
    bounds = [first + 1, *(int(c) + 1 for c in commas), close + 1]
    parts = []
    for begin, end in itertools.pairwise(bounds):
        stop = end - 1
        if not buf[begin:stop].strip(_WHITESPACE):
            continue  # `[]` or `{}`
        found = colons[(colons >= begin) & (colons < stop)]
        parts.append((begin, stop, int(found[0]) if len(found) else -1))
    return parts


def msgpack_members(buf: bytes) -> list[tuple[bytes, bytes]]:
    """(key bytes, value bytes) of a MessagePack map's top level."""
    count, pos = _container(buf, 0, maps=True)
    members = []
    for _ in range(count):
        key_end = skip(buf, pos)
        end = skip(buf, key_end)
        members.append((buf[pos:key_end], buf[key_end:end]))
        pos = end
    return members


def msgpack_elements(buf: bytes) -> list[bytes]:
    """The encodings of a MessagePack array's top-level elements."""
    count, pos = _container(buf, 0, maps=False)
    elements = []
    for _ in range(count):
        end = skip(buf, pos)
        elements.append(buf[pos:end])
        pos = end
    return elements


def _container(buf: bytes, pos: int, *, maps: bool) -> tuple[int, int]:
    if pos >= len(buf):
        raise MalformedBatch("not a batch: the body is empty")
    head = buf[pos]
    if maps and 0x80 <= head <= 0x8F:
        return head & 0x0F, pos + 1
    if not maps and 0x90 <= head <= 0x9F:
        return head & 0x0F, pos + 1
    wide = {0xDE: 2, 0xDF: 4} if maps else {0xDC: 2, 0xDD: 4}
    if head not in wide:
        raise MalformedBatch(f"not a batch: expected a MessagePack {'map' if maps else 'array'}")
    size = wide[head]
    return int.from_bytes(_take(buf, pos + 1, size), "big"), pos + 1 + size


# MessagePack heads of fixed size: head byte -> bytes taken in all.
_FIXED = {0xC0: 1, 0xC2: 1, 0xC3: 1, 0xCA: 5, 0xCB: 9, 0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9}
_FIXED |= {0xD0: 2, 0xD1: 3, 0xD2: 5, 0xD3: 9, 0xD4: 3, 0xD5: 4, 0xD6: 6, 0xD7: 10, 0xD8: 18}
# Heads followed by a length: head byte -> (bytes of the length, extra bytes after it: ext's type).
_SIZED = {0xC4: (1, 0), 0xC5: (2, 0), 0xC6: (4, 0), 0xC7: (1, 1), 0xC8: (2, 1), 0xC9: (4, 1)}
_SIZED |= {0xD9: (1, 0), 0xDA: (2, 0), 0xDB: (4, 0)}
# Containers with a counted length: head byte -> (bytes of the count, values per entry).
_COUNTED = {0xDC: (2, 1), 0xDD: (4, 1), 0xDE: (2, 2), 0xDF: (4, 2)}


def skip(buf: bytes, pos: int) -> int:
    """Where the MessagePack value at `pos` ends; iterative, so any depth costs no stack."""
    pending = 1
    while pending:
        pending -= 1
        if pos >= len(buf):
            raise MalformedBatch("not a batch: the MessagePack body is truncated")
        head = buf[pos]
        if head <= 0x7F or head >= 0xE0:
            pos += 1
        elif head <= 0x8F:
            pending += 2 * (head & 0x0F)
            pos += 1
        elif head <= 0x9F:
            pending += head & 0x0F
            pos += 1
        elif head <= 0xBF:
            pos += 1 + (head & 0x1F)
        elif head in _FIXED:
            pos += _FIXED[head]
        elif head in _SIZED:
            size, extra = _SIZED[head]
            length = int.from_bytes(_take(buf, pos + 1, size), "big")
            pos += 1 + size + extra + length
        elif head in _COUNTED:
            size, per = _COUNTED[head]
            pending += per * int.from_bytes(_take(buf, pos + 1, size), "big")
            pos += 1 + size
        else:
            raise MalformedBatch(f"not a batch: byte 0x{head:02x} is not MessagePack")
    if pos > len(buf):
        raise MalformedBatch("not a batch: the MessagePack body is truncated")
    return pos


def _take(buf: bytes, pos: int, size: int) -> bytes:
    if pos + size > len(buf):
        raise MalformedBatch("not a batch: the MessagePack body is truncated")
    return buf[pos : pos + size]
