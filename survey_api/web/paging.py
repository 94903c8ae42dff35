"""Opaque list cursors: the client sends back what it was given, never builds one.

Each list declares its cursor's shape once, as a msgspec type (`Cursor(tuple[Moment, uuid.UUID])`);
what comes back is decoded into exactly that type or refused with a 400 naming the parameter. So no
store ever sees a cursor of the wrong shape, a bigint overflow, a NUL, or a time asyncpg cannot
convert.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

from forms.errors import Problem
from survey_api.errors import Invalid, Malformed
from survey_api.web.guard import BIGINT_MAX, BIGINT_MIN, in_utc

T = TypeVar("T")
Row = TypeVar("Row")

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR = 1024  # characters; every cursor this server gives out is far shorter

Limit = Annotated[int | None, QueryParameter(name="limit", ge=1, le=MAX_LIMIT)]
"""The `limit` query parameter of every list: default 100, at most 1000."""

BigInt = Annotated[int, msgspec.Meta(ge=BIGINT_MIN, le=BIGINT_MAX)]
"""An integer PostgreSQL's bigint holds."""

Moment = Annotated[datetime, msgspec.Meta(tz=True)]
"""A time with its offset (timestamptz); one that cannot be written in UTC is refused on decoding."""


class Cursor(Generic[T]):
    """The cursor of one list: its shape, and the query parameter it travels in."""

    def __init__(self, shape: Any, param: str = "cursor") -> None:
        self.decoder = msgspec.json.Decoder(shape)
        self.param = param

    def encode(self, value: T) -> str:
        return base64.urlsafe_b64encode(msgspec.json.encode(value)).decode().rstrip("=")

    def decode(self, text: str | None) -> T | None:
        """The position the client was given, or None for the first page; anything else is a 400."""
        if not text:
            return None
        try:
            if len(text) > MAX_CURSOR:
                raise ValueError("too long")
            value = self.decoder.decode(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            for part in value if isinstance(value, tuple) else (value,):
                if isinstance(part, datetime):
                    in_utc(part, ["query", self.param])
        except (ValueError, Invalid, binascii.Error, msgspec.DecodeError) as exc:
            raise Malformed(
                "The cursor is not one this server gave out.",
                [Problem(loc=["query", self.param], code="bad_cursor", message="unreadable cursor")],
            ) from exc
        return value  # type: ignore[no-any-return]


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, limit))


def split(
    rows: Sequence[Row], size: int, cursor: Cursor[T], position: Callable[[Row], T]
) -> tuple[list[Row], str | None]:
    """A page from `size + 1` fetched rows, and the cursor of its last row when more follow."""
    page = list(rows[:size])
    more = len(rows) > size
    return page, cursor.encode(position(page[-1])) if more else None
