"""Publish to the city database: the clean tables the city's GIS staff open in QGIS."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody

from survey_api.db.session import DB
from survey_api.errors import Forbidden
from survey_api.publishing.run import Published, Target, publish
from survey_api.routes.exports import base_url
from survey_api.stores import projects
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller


class PublishSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    publish_pii: bool
    """Send sensitive fields (and who sent each record) to the city database; else those columns are null."""


class PublishController(Controller):
    path = "/projects/{project:str}/publish"
    tags = ["publish"]

    @post("/", status_code=200, opt={"problems": (409, 502, 503)})
    async def publish(self, project: FromPath[str], db: DB, user: Caller, request: Request) -> Published:
        """Make the city database (`SURVEY_CITY_DATABASE_URL`) current: per form a typed table
        `<project>__<form>` (and one per repeat) in schema `survey`, holding the clean records; only what
        changed since the last publish is sent, records no longer clean are deleted, and running it
        again changes nothing. Photo and other file columns hold the links that download the files
        (under `SURVEY_PUBLIC_URL`, or the address this request came in on). 409: no city database set up, a table there that is not ours, or another
        publish of this project running; 502: the city database refused the login or a privilege;
        503: it does not answer."""
        access = await member(db, project, user, Action.PUBLISH)
        settings = request.app.state.settings
        target = Target(
            url=settings.city_database_url, schema=settings.city_schema, base_url=base_url(request)
        )
        return await publish(db, access, target)

    @get("/settings")
    async def get_settings(self, project: FromPath[str], db: DB, user: Caller) -> PublishSettings:
        """Whether publish sends personal data (default: it does not)."""
        access = await member(db, project, user, Action.PUBLISH)
        row = await projects.by_slug(db, access.slug)
        return PublishSettings(publish_pii=bool(row and row.publish_pii))

    @put("/settings", status_code=200)
    async def put_settings(
        self, project: FromPath[str], data: JSONBody[PublishSettings], db: DB, user: Caller
    ) -> PublishSettings:
        """Turn the publishing of personal data on or off; a coordinator who may see personal data, or an
        admin. The next publish sends every form again, with those columns filled or emptied."""
        access = await member(db, project, user, Action.PUBLISH)
        if not access.pii:
            raise Forbidden("Only someone who may see personal data in this project may publish it.")
        await projects.set_publish_pii(db, access.id, data.publish_pii)
        await projects.audit(
            db,
            action="project.publish_pii",
            user_id=user.id,
            project_id=access.id,
            target=access.slug,
            detail={"publish_pii": data.publish_pii},
        )
        return data
