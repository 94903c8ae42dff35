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
    headers = {"Vary": "Accept", **(headers or {})}
    if wants_msgpack(request):
        return Response(
            msgspec.msgpack.encode(body), status_code=status_code, media_type=MSGPACK, headers=headers
        )
    return Response(msgspec.json.encode(body), status_code=status_code, media_type=JSON, headers=headers)
