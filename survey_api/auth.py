"""Who is calling: argon2 passwords, random bearer tokens stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets
import uuid

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from survey_api.errors import Unauthenticated

TOKEN_PREFIX = "sv_"
_hasher = PasswordHasher()


class User(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller of a request."""

    id: uuid.UUID
    email: str
    name: str | None
    admin: bool
    token_id: uuid.UUID


def new_token() -> tuple[str, bytes]:
    """A token to show once, and the hash to keep (tokens are random, so a fast hash is enough)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def bearer(connection: ASGIConnection) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send 'Authorization: Bearer <token>'.")
    return token.strip()


class TokenAuth(AbstractAuthenticationMiddleware):
    """Resolve the bearer token before any dependency runs, in a short transaction of its own.

    Doing it here rather than in a dependency keeps a refused request from leaving the request's
    transaction open (Litestar does not clean up dependencies when a sibling dependency raises).
    """

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        from survey_api.stores import users

        token = bearer(connection)
        async with connection.app.state.sessionmaker() as db, db.begin():
            user = await users.by_token(db, hash_token(token))
        if user is None:
            raise Unauthenticated("The token is unknown or has been revoked.")
        return AuthenticationResult(user=user, auth=token)


def auth_middleware() -> DefineMiddleware:
    return DefineMiddleware(TokenAuth, exclude=["^/schema"], exclude_from_auth_key="public")


def provide_user(request: Request) -> User:
    """The caller, as authenticated by `TokenAuth`."""
    return request.user


Caller = NamedDependency[User]
