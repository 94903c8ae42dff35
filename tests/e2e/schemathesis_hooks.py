"""Hooks that `schemathesis_run.py` loads into the schemathesis process (`SCHEMATHESIS_HOOKS`).

- `problem_documents`: every error the server answers is an RFC 9457 problem document;
- MessagePack bodies, which schemathesis cannot encode or read by itself (tablets sync with them);
- path parameters that name the project, form, record... the runner made, most of the time, so the
  fuzzer reaches the handlers behind the membership check instead of a 404 for a random slug;
- a token from logging in, and a new one when it stops working: the fuzzer reads token ids in the
  responses and may revoke its own, as any user may.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import msgspec
import schemathesis
from hypothesis import strategies as st

PROBLEM = "application/problem+json"
KNOWN = json.loads(os.environ.get("SURVEY_FUZZ_PARAMETERS", "{}"))  # {"project": "fuzz", "key": ...}
LOGIN = json.loads(os.environ.get("SURVEY_FUZZ_LOGIN", "{}"))  # {"url", "email", "password"}


@schemathesis.check
def problem_documents(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx and 5xx is `application/problem+json` with its status; a 503 of /health is its own shape."""
    if response.status_code < 400 or (case.path == "/health" and response.status_code == 503):
        return None
    media = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    if media != PROBLEM:
        raise AssertionError(f"{response.status_code} answered as {media!r}, not {PROBLEM}")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{response.status_code}: the problem document is not JSON") from exc
    if not isinstance(body, dict) or not {"type", "title", "status", "detail"} <= set(body):
        raise AssertionError(f"{response.status_code}: not a problem document: {response.content[:200]!r}")
    if body["status"] != response.status_code:
        raise AssertionError(f"the problem says {body['status']}, the response {response.status_code}")
    return None


@schemathesis.serializer("application/msgpack")
def msgpack_body(ctx: Any, value: Any) -> bytes:
    return value if isinstance(value, bytes) else msgspec.msgpack.encode(representable(value))


@schemathesis.deserializer("application/msgpack")
def msgpack_answer(ctx: Any, response: Any) -> Any:
    return msgspec.msgpack.decode(response.content)


def representable(value: Any) -> Any:
    """MessagePack has no integers beyond 64 bits, which JSON Schema's `integer` may generate."""
    if isinstance(value, dict):
        return {k: representable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [representable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return str(value)
    return value


@schemathesis.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    known = {name: KNOWN[name] for name in path_parameters or {} if name in KNOWN}
    if not known:
        return st.just(path_parameters)
    pinned = {**path_parameters, **known}
    return st.sampled_from([pinned, pinned, pinned, path_parameters])


@schemathesis.auth()
class Login:
    """Bearer tokens from `POST /auth/token`; schemathesis asks again after a 401 and replays."""

    def get(self, case: Any, ctx: Any) -> str:
        response = httpx.post(
            f"{LOGIN['url']}/api/v1/auth/token",
            json={"email": LOGIN["email"], "password": LOGIN["password"], "label": "schemathesis"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["token"]

    def set(self, case: Any, token: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
