"""Projects and their members."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody

from forms.errors import Problem
from survey_api.db.session import DB
from survey_api.errors import Invalid, NotFound
from survey_api.stores import projects, users
from survey_api.web.access import Action, member, require_admin
from survey_api.web.auth import Caller
from survey_api.web.paging import Cursor, Limit, clamp_limit, split
from sync.errors import SyncError
from sync.normalize import area_from_geojson

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class NewProject(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    slug: Slug
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    timezone: str = "Asia/Bangkok"
    area: dict[str, Any] | None = None


class ProjectOut(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    name: str
    timezone: str
    area: dict[str, Any] | None
    created_at: datetime
    role: str | None = None
    pii: bool = False


class ProjectList(msgspec.Struct, frozen=True, kw_only=True):
    items: list[ProjectOut]
    next: str | None


class MemberIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    role: Literal["coordinator", "volunteer", "analyst"]
    pii: bool = False


class MemberOut(msgspec.Struct, frozen=True, kw_only=True):
    project: str
    user_id: uuid.UUID
    role: str
    pii: bool


PROJECTS = Cursor[str](Slug)
"""Projects are paged by slug."""


class ProjectController(Controller):
    path = "/projects"
    tags = ["projects"]

    @post("/", status_code=201, opt={"problems": (409,)})
    async def create_project(self, data: JSONBody[NewProject], db: DB, user: Caller) -> ProjectOut:
        """Create a project (admin only). `area` is the area of interest: points outside it are flagged."""
        require_admin(user, "create projects")
        check_timezone(data.timezone)
        if data.area is not None:
            check_area(data.area)
        row = await projects.create(
            db, slug=data.slug, name=data.name, timezone=data.timezone, area=data.area
        )
        await projects.audit(db, action="project.create", user_id=user.id, project_id=row.id, target=row.slug)
        return ProjectOut(
            slug=row.slug, name=row.name, timezone=row.timezone, area=row.area, created_at=row.created_at
        )

    @get("/")
    async def list_projects(
        self, db: DB, user: Caller, cursor: FromQuery[str | None] = None, limit: Limit = None
    ) -> ProjectList:
        """The projects the caller belongs to (an admin sees every project)."""
        size = clamp_limit(limit)
        rows = await projects.for_user(
            db, user.id, everything=user.admin, after=PROJECTS.decode(cursor), limit=size + 1
        )
        page, after = split(rows, size, PROJECTS, lambda row: row[0].slug)
        items = [
            ProjectOut(
                slug=p.slug,
                name=p.name,
                timezone=p.timezone,
                area=p.area,
                created_at=p.created_at,
                role=r,
                pii=pii,
            )
            for p, r, pii in page
        ]
        return ProjectList(items=items, next=after)

    @put("/{project:str}/members/{user_id:uuid}", status_code=200)
    async def put_member(
        self,
        project: FromPath[str],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[MemberIn],
        db: DB,
        user: Caller,
    ) -> MemberOut:
        """Add a member or change their role and `pii` flag (coordinator or admin)."""
        access = await member(db, project, user, Action.MANAGE)
        if await users.get(db, user_id) is None:
            raise NotFound(f"No user {user_id}.")
        await projects.put_member(db, access.id, user_id, data.role, data.pii)
        await projects.audit(
            db,
            action="member.put",
            user_id=user.id,
            project_id=access.id,
            target=str(user_id),
            detail={"role": data.role, "pii": data.pii},
        )
        return MemberOut(project=access.slug, user_id=user_id, role=data.role, pii=data.pii)

    @delete("/{project:str}/members/{user_id:uuid}", status_code=204)
    async def remove_member(
        self, project: FromPath[str], user_id: FromPath[uuid.UUID], db: DB, user: Caller
    ) -> None:
        """Remove a member from the project."""
        access = await member(db, project, user, Action.MANAGE)
        if not await projects.remove_member(db, access.id, user_id):
            raise NotFound(f"User {user_id} is not a member of {project!r}.")
        await projects.audit(
            db, action="member.remove", user_id=user.id, project_id=access.id, target=str(user_id)
        )


def check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(
            f"Unknown time zone {name!r}.",
            [Problem(loc=["body", "timezone"], code="unknown_timezone", message="not an IANA time zone")],
        ) from exc


def check_area(area: dict[str, Any]) -> None:
    try:
        area_from_geojson(area)
    except SyncError as exc:
        raise Invalid(
            "The project area must be a valid GeoJSON Polygon or MultiPolygon.",
            [Problem(loc=["body", "area"], code="invalid_area", message=str(exc))],
        ) from exc
    except RecursionError as exc:  # shapely walks coordinates recursively; a polygon nests three deep
        raise Invalid(
            "The project area must be a valid GeoJSON Polygon or MultiPolygon.",
            [Problem(loc=["body", "area", "coordinates"], code="too_deep", message="nested too deeply")],
        ) from exc
