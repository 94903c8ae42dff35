"""Errors of the shell; `problems.py` maps them (and the core's) to statuses."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error with a message meant for the caller, and optional per-location details."""

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class Malformed(ApiError):
    """The request cannot be read at all."""


class Unauthenticated(ApiError):
    """No token, or one that is unknown or revoked."""


class Forbidden(ApiError):
    """The caller is known but their role does not allow this."""


class NotFound(ApiError):
    """No such thing, as far as this caller may know."""


class Conflict(ApiError):
    """Stale or conflicting state: someone else got there first."""


class TooLarge(ApiError):
    """Over a size limit; refused before it is read whole."""


class UnsupportedMedia(ApiError):
    """A content type or encoding the endpoint does not speak."""


class Invalid(ApiError):
    """Well-formed but not acceptable."""


class Unavailable(ApiError):
    """Not now, for a reason of the server's; the same request may succeed when sent again."""
