"""Content negotiation for the wire: JSON by default, MessagePack when the client asks for it."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response

MSGPACK = "application/msgpack"
JSON = "application/json"


def wants_msgpack(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return MSGPACK in accept or "application/x-msgpack" in accept


def respond(
    request: Request, body: Any, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response[bytes]:
    """Encode `body` as the client prefers; `Vary: Accept` keeps caches honest."""
    content, media_type = encode(body, wants_msgpack(request))
    headers = {"Vary": "Accept", **(headers or {})}
    return Response(content, status_code=status_code, media_type=media_type, headers=headers)


def encode(body: Any, msgpack: bool) -> tuple[bytes, str]:
    """`body` on the wire, and its media type (also where no request is at hand: sync helpers)."""
    if msgpack:
        return msgspec.msgpack.encode(body), MSGPACK
    return msgspec.json.encode(body), JSON
