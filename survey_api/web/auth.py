"""Who is calling: the bearer token resolved before any handler runs."""

from __future__ import annotations

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from survey_api.credentials import User, hash_token
from survey_api.db.session import unit_of_work
from survey_api.errors import Unauthenticated
from survey_api.stores import users


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
        token = bearer(connection)
        async with unit_of_work(connection.app.state.sessionmaker) as db:
            user = await users.by_token(db, hash_token(token))
        if user is None:
            raise Unauthenticated("The token is unknown or has been revoked.")
        return AuthenticationResult(user=user, auth=token)


def auth_middleware() -> DefineMiddleware:
    return DefineMiddleware(TokenAuth, exclude=["^/schema", "^/openrosa"], exclude_from_auth_key="public")


def provide_user(request: Request) -> User:
    """The caller, as authenticated by `TokenAuth`."""
    return request.user


Caller = NamedDependency[User]
