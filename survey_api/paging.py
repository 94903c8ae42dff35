"""Opaque list cursors: the client sends back what it was given, never builds one."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.params import QueryParameter

from survey_api.errors import Malformed

T = TypeVar("T")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[int | None, QueryParameter(name="limit", ge=1, le=MAX_LIMIT)]
"""The `limit` query parameter of every list: default 100, at most 1000."""


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(value)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        return msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, msgspec.DecodeError) as exc:
        raise Malformed(
            "The cursor is not one this server gave out.",
            [{"loc": ["query", "cursor"], "code": "bad_cursor", "message": "unreadable cursor"}],
        ) from exc


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, limit))


def split(rows: Sequence[T], size: int, cursor_of: Callable[[T], Any]) -> tuple[list[T], str | None]:
    """A page from `size + 1` fetched rows, and the cursor of its last row when more follow."""
    page = list(rows[:size])
    more = len(rows) > size
    return page, encode_cursor(cursor_of(page[-1])) if more else None
