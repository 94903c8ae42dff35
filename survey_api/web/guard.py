"""The door: what PostgreSQL cannot hold, and JSON no decoder can read, stops here as a 4xx.

PostgreSQL text, and every string inside jsonb, cannot contain NUL (U+0000), and a bigint ends at
2^63 - 1; asyncpg raises on either, which reached callers as a 500. Rather than a check beside each
column, the two seams every request crosses refuse a NUL, so a new endpoint is covered by
construction:

- `UrlGuard`, a middleware on every route: a NUL in the path (sent as %00) or in the query string
  is a 400 naming where. Every path and query value is text that may reach a WHERE clause.
- `GuardedRequest`, the app's request class: a body read whole (`Request.body()`, which Litestar's
  `data` decoding and our own readers use) that is JSON and holds the escape \\u0000 is a 422, and
  JSON nested deeper than the decoder goes (msgspec's RecursionError) is a 400.

The sync push is the one body left alone, also by construction: it streams its body (gzip and
size limits) instead of reading it whole, and judges a NUL per item, so one bad item never costs the
others. Cursors carry text past the URL inside base64; `paging.Cursor` types them, so they cannot
hold a NUL or an integer beyond bigint either; `PathId` bounds integer ids in paths.

Times have an edge of the same kind: asyncpg converts an aware time to UTC, which overflows at the
ends of years 1 and 9999; `in_utc` makes that a 422 wherever a time enters from a request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from litestar import Request
from litestar.exceptions import SerializationException
from litestar.middleware import ASGIMiddleware
from litestar.params import PathParameter
from litestar.types import ASGIApp, Receive, Scope, Send

from forms.errors import Problem
from survey_api.errors import Invalid, Malformed

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
NUL_ESCAPE = b"\\u0000"

PathId = Annotated[int, PathParameter(ge=1, le=BIGINT_MAX)]
"""An integer id in a path: a bigint serial, so 1 to 2^63 - 1; outside that a 422, never a query."""


class UrlGuard(ASGIMiddleware):
    """A NUL anywhere in the URL is a 400, before any handler (or the database) sees it."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if "\x00" in scope["path"]:
            raise Malformed(
                "The path contains a NUL character (%00).",
                [Problem(loc=["path"], code="nul_character", message="a NUL is never part of a name")],
            )
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            name = next((k for k, v in parse_qsl(query.decode("latin-1"), True) if "\x00" in k + v), "")
            raise Malformed(
                f"The query parameter {name!r} contains a NUL character (%00).",
                [Problem(loc=["query", name], code="nul_character", message="a NUL is never valid")],
            )
        await next_app(scope, receive, send)


class GuardedRequest(Request):
    """Every body read whole is checked for NUL when it is JSON; JSON too deep to decode is a 400."""

    async def body(self) -> bytes:
        data = await super().body()
        media = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if media in ("", "application/json") or media.endswith("+json"):
            refuse_nul(data)
        return data

    async def json(self) -> Any:
        refuse_nul(await self.body())  # whatever the content type says, it is about to be read as JSON
        try:
            return await super().json()
        except RecursionError as exc:
            raise Malformed(
                "The JSON body is nested too deeply to read.",
                [Problem(loc=["body"], code="too_deep", message="nested too deeply")],
            ) from exc
        except SerializationException as exc:
            raise Malformed(
                f"The body is not valid JSON: {exc.detail}",
                [Problem(loc=["body"], code="invalid_json", message=str(exc.detail))],
            ) from exc


def in_utc(moment: datetime, loc: list[str | int]) -> datetime:
    """A time as asyncpg sends it (in UTC); one past the ends of years 1 and 9999 there is a 422."""
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment
    except OverflowError as exc:
        raise Invalid(
            "The time is out of range: it falls outside years 1 to 9999 in UTC.",
            [Problem(loc=loc, code="out_of_range", message=moment.isoformat())],
        ) from exc


def refuse_nul(data: bytes) -> None:
    """A 422 if this JSON has the escape \\u0000 (a NUL in a string); `\\\\u0000` is ordinary text."""
    at = data.find(NUL_ESCAPE)
    while at != -1:
        start = at
        while start > 0 and data[start - 1] == 0x5C:  # backslashes before it: an even run escapes none
            start -= 1
        if (at - start) % 2 == 0:
            raise Invalid(
                "Text may not contain the NUL character (\\u0000); the database cannot store it.",
                [Problem(loc=["body"], code="nul_character", message=f"\\u0000 at byte {at}")],
            )
        at = data.find(NUL_ESCAPE, at + 1)
