"""Content hashing: the same submission sent again must hash equally whatever carried it.

The canonical form is msgspec JSON of `[form, version, record_id, base_revision, answers]` with keys
sorted. Before encoding, values are normalised so encodings that mean the same thing agree: an
integral float becomes an int (`1.0` from one client, `1` from another), `-0.0` becomes `0`, and
non-string keys (MessagePack allows them) become strings. Strings are not normalised: a changed
spelling is changed content. The uuid is not part of the hash, so a double tap (two uuids, one
content) can be recognised by hash.
"""

import hashlib
import math
import re
from typing import Any

import msgspec

_ENCODER = msgspec.json.Encoder(order="sorted")
# How msgspec spells an integral float below 1e16 (`2.0`, `-0.0`): digits, ".0", then what ends a value.
_INTEGRAL_FLOAT = re.compile(rb"\.0[,\]}]")


def content_hash(
    form: str,
    version: str,
    record_id: str | None,
    base_revision: int | None,
    answers: dict[str, Any],
    *,
    from_json: bool = False,
) -> str:
    """sha256 hex of the canonical encoding of what was submitted.

    `from_json`: the answers were decoded from JSON text, so they hold only exact types, string keys
    and finite numbers; then the only rule that can change anything is the integral float, and an
    encoding showing none is already canonical (a string that merely looks like one, `"v1.0,"`, only
    sends the item the general way).
    """
    if from_json:
        encoded = _ENCODER.encode([form, version, record_id, base_revision, answers])
        if _INTEGRAL_FLOAT.search(encoded) is None:
            return hashlib.sha256(encoded).hexdigest()
    payload = [form, version, record_id, base_revision, _canonical(answers)]
    return hashlib.sha256(_ENCODER.encode(payload)).hexdigest()


def canonical_bytes(value: Any) -> bytes:
    """The canonical encoding of any answer value; also used to compare and order values stably."""
    return _ENCODER.encode(_canonical(value))


# Values that encode canonically as they are; exact types, so a subclass takes the general rules.
_PLAIN = frozenset({str, int, bool, type(None)})


def _canonical(value: Any) -> Any:
    """Exact types first (all a decoded body holds), with plain values copied without a call."""
    t = type(value)
    if t is float:
        if value.is_integer():
            return int(value) if abs(value) < 2**53 else value
        return value if math.isfinite(value) else repr(value)
    if t is dict:
        return {
            k if type(k) is str else str(k): v if type(v) in _PLAIN else _canonical(v)
            for k, v in value.items()
        }
    if t is list:
        return [v if type(v) in _PLAIN else _canonical(v) for v in value]
    return _general(value)


def _general(value: Any) -> Any:
    """The rules themselves, for subclasses and tuples (and anything else, returned as it is)."""
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 2**53:
            return int(value)
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value
