"""Users, tokens and the caller's own profile."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody

from survey_api import credentials
from survey_api.credentials import User
from survey_api.db.session import DB
from survey_api.errors import Forbidden, NotFound, Unauthenticated
from survey_api.stores import projects, users
from survey_api.web.access import require_admin
from survey_api.web.auth import Caller

Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
]
"""The one rule for an email address: POST /users, POST /auth/token and `survey-api user create`."""
Text = Annotated[str, msgspec.Meta(max_length=500)]


class NewUser(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A user to create, from POST /users or `survey-api user create`: both refuse what the other would."""

    email: Email
    name: Text | None = None
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=1000)] | None = None
    admin: bool = False


class CreatedUser(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    email: str
    name: str | None
    admin: bool
    token: str


class Login(msgspec.Struct, frozen=True, kw_only=True):
    email: Email
    password: Annotated[str, msgspec.Meta(max_length=1000)]
    label: Text | None = None


class IssuedToken(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    id: uuid.UUID


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    label: str | None
    created_at: datetime
    last_used_at: datetime | None


class TokenList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[TokenInfo]
    next: str | None = None


class Membership(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    role: str
    pii: bool


class Me(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    email: str
    name: str | None
    admin: bool
    projects: list[Membership]


class UserController(Controller):
    tags = ["users"]

    @post("/users", status_code=201, opt={"problems": (409,)})
    async def create_user(self, data: JSONBody[NewUser], db: DB, user: Caller) -> CreatedUser:
        """Create a user (admin only). The response carries their first token; it is shown only once."""
        require_admin(user, "create users")
        row = await users.create(
            db, email=data.email, name=data.name, password=data.password, admin=data.admin
        )
        token, _ = await users.issue_token(db, row.id, "created")
        await projects.audit(db, action="user.create", user_id=user.id, target=str(row.id))
        return CreatedUser(id=row.id, email=row.email, name=row.name, admin=row.admin, token=token)

    @post("/auth/token", status_code=200, opt={"public": True, "problems": (401,)})
    async def login(self, data: JSONBody[Login], db: DB) -> IssuedToken:
        """Exchange email and password for a new token; give each tablet its own `label`."""
        row = await users.by_email(db, data.email)
        ok = await asyncio.to_thread(
            credentials.verify_password, row.password_hash if row else None, data.password
        )
        if row is None or not ok:
            raise Unauthenticated("Unknown email or wrong password.")
        token, token_row = await users.issue_token(db, row.id, data.label)
        return IssuedToken(token=token, id=token_row.id)

    @delete("/auth/token", status_code=204)
    async def logout(self, db: DB, user: Caller) -> None:
        """Revoke the token this request was made with."""
        await users.revoke_token(db, user.id, user.token_id)

    @get("/users/{user_id:uuid}/tokens")
    async def list_tokens(self, user_id: FromPath[uuid.UUID], db: DB, user: Caller) -> TokenList:
        """A user's live tokens: labels and dates, never the secret; 404 for a user that does not exist."""
        own_or_admin(user, user_id)
        if await users.get(db, user_id) is None:
            raise NotFound(f"No user {user_id}.")
        rows = await users.tokens(db, user_id)
        return TokenList(
            items=[
                TokenInfo(id=t.id, label=t.label, created_at=t.created_at, last_used_at=t.last_used_at)
                for t in rows
            ]
        )

    @delete("/users/{user_id:uuid}/tokens/{token_id:uuid}", status_code=204)
    async def revoke_token(
        self, user_id: FromPath[uuid.UUID], token_id: FromPath[uuid.UUID], db: DB, user: Caller
    ) -> None:
        """Revoke one token, e.g. of a lost tablet (the user themself, or an admin)."""
        own_or_admin(user, user_id)
        if not await users.revoke_token(db, user_id, token_id):
            raise NotFound("No such live token for this user.")

    @get("/me")
    async def me(self, db: DB, user: Caller) -> Me:
        """The caller, with the projects they belong to and their role in each."""
        rows = await projects.memberships_of(db, user.id)
        return Me(
            id=user.id,
            email=user.email,
            name=user.name,
            admin=user.admin,
            projects=[Membership(slug=s, role=r, pii=p) for s, r, p in rows],
        )


def own_or_admin(user: User, user_id: uuid.UUID) -> None:
    if user.id != user_id and not user.admin:
        raise Forbidden("Only the user themself or an admin may manage these tokens.")
