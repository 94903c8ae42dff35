"""Errors of the shell; `problems.py` maps them (and the core's) to statuses."""

from __future__ import annotations

from forms.errors import Problem


class ApiError(Exception):
    """An error with a message meant for the caller; `problems` locates what is wrong, where known."""

    def __init__(self, detail: str, problems: list[Problem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problems: list[Problem] = problems or []


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


class BadGateway(ApiError):
    """A server this one relies on (the city database) refused what it was asked: retrying will not help."""


class Unavailable(ApiError):
    """Not now, for a reason of the server's; the same request may succeed when sent again."""
