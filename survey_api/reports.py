"""The commands that write what analysts read: `export`, `index` and `publish`, as their endpoints do.

Each runs with the operator's rights (whoever runs `survey-api` on the server reaches the database
itself) through `as_operator`: the database found (or the embedded one started) and migrated, the
project looked up, the command's work run; a refusal is the endpoint's problem, printed as one line.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from survey_api.settings import Settings
from survey_api.startup import database, migrate

if TYPE_CHECKING:
    from survey_api.db.session import Sessions
    from survey_api.errors import ApiError
    from survey_api.web.access import ProjectAccess

T = TypeVar("T")


def as_operator(
    settings: Settings, project: str, work: Callable[[Sessions, ProjectAccess], Awaitable[T]]
) -> T:
    """`work(sessions, access)` on the project, with an admin's rights; an ApiError comes out as is."""
    from survey_api.db.engine import make_engine
    from survey_api.db.session import make_sessionmaker, unit_of_work
    from survey_api.web.access import as_operator as operator_access

    async def run(url: str) -> T:
        engine = make_engine(url, pool_size=2)
        try:
            sessions = make_sessionmaker(engine)
            async with unit_of_work(sessions) as db:
                access = await operator_access(db, project)
            return await work(sessions, access)
        finally:
            await engine.dispose()

    with database(settings) as resolved:
        migrate(resolved)
        return asyncio.run(run(resolved.database_url or ""))


def refused(exc: ApiError) -> int:
    """The problem an endpoint would answer, as one line on stderr; the command's exit code."""
    details = "; ".join(f"{'.'.join(map(str, p.loc[1:]))}: {p.message}" for p in exc.problems)
    print(f"error: {exc.detail}" + (f" {details}" if details else ""), file=sys.stderr)
    return 1


LOCAL_URL = "http://127.0.0.1:8000"
"""The server's address in links to files from the command line when SURVEY_PUBLIC_URL is not set."""


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """What GET .../export.{format} gives, written to a file."""
    from pathlib import Path

    from survey_api.db.session import unit_of_work
    from survey_api.errors import ApiError
    from survey_api.exporting import run
    from survey_api.exporting.params import ExportRequest, check
    from survey_api.progress import Progress
    from survey_api.stores.media import LocalMedia

    names = ("lang", "include", "since", "until", "bbox", "area", "geometry")
    request = ExportRequest(
        **{n: getattr(args, n) for n in names},
        labels="true" if args.labels else None,
        media="true" if args.media else None,
    )
    base_url = settings.public_url or LOCAL_URL  # the links to files in photo columns
    try:
        params = check(request, args.format)  # before any database: a typo is answered at once
    except ApiError as exc:
        return refused(exc)

    async def export(sessions: Sessions, access: ProjectAccess) -> tuple[Progress, int, Path]:
        async with unit_of_work(sessions) as db:
            prepared = await run.prepare(db, access, args.form, params, base_url)
        path = Path(args.output or prepared.filename)
        what = f"export {args.project}/{args.form} as {prepared.extension}"
        progress = Progress(what, prepared.total, "records")
        media = LocalMedia(settings.media_root)
        return progress, await run.write_file(sessions, prepared, path, progress.update, media), path

    try:
        progress, written, path = as_operator(settings, args.project, export)
    except ApiError as exc:
        return refused(exc)
    progress.close(f"{written} records written to {path} ({path.stat().st_size:,} bytes)")
    return 0


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """What GET .../index/{layer}.{format} gives, written to a file."""
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from survey_api.db.session import unit_of_work
    from survey_api.errors import ApiError
    from survey_api.indexing import output
    from survey_api.indexing.run import index
    from survey_api.progress import Later

    path = Path(args.output or f"{args.project}-index-{args.layer}.{args.format}")
    progress = Later(f"index {args.project}/{args.layer}", "records")

    async def compute(sessions: Sessions, access: ProjectAccess) -> int:
        async with unit_of_work(sessions) as db:
            run = await index(db, access, args.layer, progress.update)
        tz = ZoneInfo(access.timezone)
        data = await asyncio.to_thread(lambda: b"".join(output.chunks(run, args.format, args.lang, tz)))
        await asyncio.to_thread(path.write_bytes, data)
        return run.result.ranked

    try:
        ranked = as_operator(settings, args.project, compute)
    except ApiError as exc:
        return refused(exc)
    progress.close(f"index of {args.layer}: {ranked} areas ranked, written to {path}")
    return 0


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    """What POST .../publish does."""
    from survey_api.db.session import unit_of_work
    from survey_api.errors import ApiError
    from survey_api.progress import Later
    from survey_api.publishing.run import Published, Target, publish

    progress = Later(f"publish {args.project}", "records")

    async def send(sessions: Sessions, access: ProjectAccess) -> Published:
        async with unit_of_work(sessions) as db:
            target = Target(
                url=settings.city_database_url,
                schema=settings.city_schema,
                base_url=settings.public_url or LOCAL_URL,
            )
            return await publish(db, access, target, progress.update)

    try:
        published = as_operator(settings, args.project, send)
    except ApiError as exc:
        return refused(exc)
    lines = [f"  {t.name}: {t.upserted} upserted, {t.deleted} deleted" for t in published.tables]
    progress.close("\n".join([f"published {args.project} to schema {settings.city_schema!r}:", *lines]))
    return 0
