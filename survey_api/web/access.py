"""The permission table of API.md, enforced in this one place."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

import msgspec

from survey_api.credentials import User
from survey_api.db.session import Session
from survey_api.errors import Forbidden, NotFound
from survey_api.stores import projects

ROLES = ("coordinator", "volunteer", "analyst")


class Action(StrEnum):
    MANAGE = "manage"  # members, forms, dedup policy, areas, indicators
    READ_FORMS = "read_forms"  # list and download published forms
    PUSH = "push"  # push batches, pull changes
    REVIEW = "review"  # duplicates, conflicts, quarantine, edit records
    READ = "read"  # records, exports, index
    PUBLISH = "publish"  # publish to the city database


ALLOWED: dict[Action, frozenset[str]] = {
    Action.MANAGE: frozenset({"coordinator"}),
    Action.READ_FORMS: frozenset({"coordinator", "volunteer", "analyst"}),
    Action.PUSH: frozenset({"coordinator", "volunteer"}),
    Action.REVIEW: frozenset({"coordinator"}),
    Action.READ: frozenset({"coordinator", "analyst"}),
    Action.PUBLISH: frozenset({"coordinator"}),
}

DESCRIPTIONS = {
    Action.MANAGE: "manage members, forms, duplicate policy, areas and indicators",
    Action.READ_FORMS: "list and download forms",
    Action.PUSH: "push batches and pull changes",
    Action.REVIEW: "review duplicates, conflicts and quarantine, or edit records",
    Action.READ: "read records, exports and the index",
    Action.PUBLISH: "publish to the city database",
}


class ProjectAccess(msgspec.Struct, frozen=True, kw_only=True):
    """A project as one caller may use it: their role and whether they may see personal data."""

    id: uuid.UUID
    slug: str
    name: str
    timezone: str
    area: dict[str, Any] | None
    role: str | None
    pii: bool
    user: User


def allowed(role: str | None, admin: bool, action: Action) -> bool:
    return admin or (role is not None and role in ALLOWED[action])


async def member(db: Session, slug: str, user: User, action: Action) -> ProjectAccess:
    """The project if the caller may do `action` in it; 404 for no project, 403 for no right."""
    project = await projects.by_slug(db, slug)
    if project is None:
        raise NotFound(f"No project {slug!r}.")
    membership = await projects.membership(db, project.id, user.id)
    role = membership.role if membership else None
    if not allowed(role, user.admin, action):
        who = f"a {role}" if role else "not a member of this project, so"
        raise Forbidden(f"You are {who} and may not {DESCRIPTIONS[action]} in {slug!r}.")
    return ProjectAccess(
        id=project.id,
        slug=project.slug,
        name=project.name,
        timezone=project.timezone,
        area=project.area,
        role=role,
        pii=user.admin or bool(membership and membership.pii),
        user=user,
    )


def require_admin(user: User, what: str) -> None:
    if not user.admin:
        raise Forbidden(f"Only a server admin may {what}.")


OPERATOR = User(
    id=uuid.UUID(int=0),
    email="operator",
    name="the server's command line",
    admin=True,
    token_id=uuid.UUID(int=0),
)
"""Whoever runs `survey-api` on the server: they reach the database itself, so they may do anything."""


async def as_operator(db: Session, slug: str) -> ProjectAccess:
    """The project as the command line uses it (an admin's rights, personal data included)."""
    return await member(db, slug, OPERATOR, Action.MANAGE)
