"""Who an OpenRosa request comes from: a tablet's token in the path, or HTTP Basic over HTTPS.

ODK Collect cannot send a bearer header, so, as ODK Central's app users do, a token goes into the
server URL the app is given (`/openrosa/key/{token}/projects/{project}`) and is revoked alone. A
user who prefers a name and password points the app at `/openrosa/projects/{project}`: the server
answers `401` with a `WWW-Authenticate: Basic` challenge, but only over HTTPS (directly or behind a
proxy saying `X-Forwarded-Proto: https`); over plain HTTP a password would cross the network in the
clear, so it is refused with 403 and the key URL suggested instead.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid

from litestar import Request

from survey_api import credentials
from survey_api.credentials import User
from survey_api.db.session import unit_of_work
from survey_api.errors import Forbidden, Unauthenticated
from survey_api.stores import users
from survey_api.web.access import Action, ProjectAccess, member

REALM = 'Basic realm="survey-api", charset="UTF-8"'


NO_TOKEN = uuid.UUID(int=0)  # a caller signed in with a password holds no token


class Challenge(Unauthenticated):
    """401 with the Basic challenge Collect answers by asking for a name and password."""


def over_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


async def tablet(request: Request, token: str | None, project: str) -> ProjectAccess:
    """The project as the caller may fill its forms (volunteers and coordinators).

    A key is resolved with the membership in one short transaction: a tablet sends one request per
    submission, so each costs as little as the JSON sync's batch does."""
    if token is not None:
        async with unit_of_work(request.app.state.sessionmaker) as db:
            user = await users.by_token(db, credentials.hash_token(token))
            if user is None:
                raise Forbidden("This server URL's key is unknown or has been revoked: ask for a new one.")
            return await member(db, project, user, Action.PUSH)
    user = await signed_in(request)
    async with unit_of_work(request.app.state.sessionmaker) as db:
        return await member(db, project, user, Action.PUSH)


async def signed_in(request: Request) -> User:
    """The user of HTTP Basic credentials, over HTTPS only."""
    if not over_https(request):
        raise Forbidden(
            "A name and password are only accepted over HTTPS; use the server URL with a key "
            "(/openrosa/key/<token>/projects/<project>) instead."
        )
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise Challenge("Sign in with your email and password.")
    try:
        email, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Challenge("The Basic credentials are not base64 of 'email:password'.") from None
    async with unit_of_work(request.app.state.sessionmaker) as db:
        row = await users.by_email(db, email.strip().lower())
    known = await asyncio.to_thread(credentials.verify_password, row.password_hash if row else None, password)
    if row is None or not known:
        raise Challenge("Unknown email or wrong password.")
    return User(id=row.id, email=row.email, name=row.name, admin=row.admin, token_id=NO_TOKEN)
