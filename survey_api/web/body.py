"""Reading request bodies for the sync endpoints: media type, gzip, and size limits while streaming."""

from __future__ import annotations

import zlib

from litestar import Request
from litestar.exceptions import InternalServerException

from survey_api.errors import Malformed, TooLarge, UnsupportedMedia
from sync.batch import Media

MEDIA: dict[str, Media] = {
    "application/json": "json",
    "": "json",
    "application/msgpack": "msgpack",
    "application/x-msgpack": "msgpack",
    "application/vnd.msgpack": "msgpack",
}


def media_of(request: Request) -> Media:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in MEDIA:
        raise UnsupportedMedia(f"Send application/json or application/msgpack, not {media!r}.")
    return MEDIA[media]


async def read(request: Request, limit: int) -> bytes:
    """The body, gunzipped if `Content-Encoding: gzip`; over `limit` bytes (either side) is a 413.

    Decompression is incremental and capped, so a gzip bomb is refused while it inflates.
    """
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise UnsupportedMedia(f"Content-Encoding {encoding!r} is not supported; use gzip or none.")
    raw = bytearray()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding != "identity" else None
    out = bytearray()
    async for chunk in stream(request):
        if inflater is None:
            raw += chunk
            if len(raw) > limit:
                raise TooLarge(f"The body is over the limit of {limit} bytes.")
            continue
        try:
            out += inflater.decompress(chunk, limit + 1 - len(out))
        except zlib.error as exc:
            raise Malformed(f"The gzip body is corrupt: {exc}.") from exc
        if len(out) > limit or inflater.unconsumed_tail:
            raise TooLarge(f"The body inflates to over the limit of {limit} bytes.")
    if inflater is None:
        return bytes(raw)
    try:
        out += inflater.flush()
    except zlib.error as exc:
        raise Malformed(f"The gzip body is corrupt: {exc}.") from exc
    if not inflater.eof:
        raise Malformed("The gzip body is truncated.")
    if len(out) > limit:
        raise TooLarge(f"The body inflates to over the limit of {limit} bytes.")
    return bytes(out)


async def stream(request: Request):  # type: ignore[no-untyped-def]
    """The body's chunks; a client that hangs up mid-body is a 400, not a server error."""
    try:
        async for chunk in request.stream():
            yield chunk
    except InternalServerException as exc:
        if "disconnect" not in str(exc.detail).lower():
            raise
        raise Malformed("The client disconnected before the body was complete.") from exc
