"""Liveness and database reachability, for load balancers and people."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from survey_api.db.session import ping

log = logging.getLogger("survey_api")


class Health(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    database: str


@get(
    "/health",
    tags=["health"],
    opt={"public": True},
    responses={503: ResponseSpec(Health, description="The database does not answer.")},
)
async def health(state: State) -> Response[Health]:
    """200 when the server and its database answer; 503 when the database does not."""
    try:
        await asyncio.wait_for(ping(state.sessionmaker), timeout=5)
    except Exception:
        log.warning("health check: the database did not answer", exc_info=True)
        return Response(Health(status="degraded", database="unreachable"), status_code=503)
    return Response(Health(status="ok", database="ok"))
