"""The commands that write what analysts read: `export`, `index` and `publish`, as their endpoints do."""

from __future__ import annotations

import argparse
import asyncio
import sys

from survey_api.settings import Settings
from survey_api.startup import database, migrate


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """What GET .../export.{format} gives, written to a file, with the operator's rights."""
    from pathlib import Path

    from survey_api.db.engine import make_engine
    from survey_api.db.session import make_sessionmaker, unit_of_work
    from survey_api.errors import ApiError
    from survey_api.exporting import run
    from survey_api.exporting.params import ExportRequest, check
    from survey_api.progress import Progress
    from survey_api.web.access import as_operator

    def refused(exc: ApiError) -> int:
        details = "; ".join(f"{'.'.join(map(str, p.loc[1:]))}: {p.message}" for p in exc.problems)
        print(f"error: {exc.detail}" + (f" {details}" if details else ""), file=sys.stderr)
        return 1

    names = ("lang", "include", "since", "until", "bbox", "area", "geometry")
    request = ExportRequest(**{n: getattr(args, n) for n in names}, labels="true" if args.labels else None)
    try:
        params = check(request, args.format)  # before any database: a typo is answered at once
    except ApiError as exc:
        return refused(exc)

    async def export(url: str) -> tuple[Progress, int, Path]:
        engine = make_engine(url, pool_size=2)
        try:
            sessions = make_sessionmaker(engine)
            async with unit_of_work(sessions) as db:
                access = await as_operator(db, args.project)
                prepared = await run.prepare(db, access, args.form, params)
            path = Path(args.output or prepared.filename)
            what = f"export {args.project}/{args.form} as {prepared.extension}"
            progress = Progress(what, prepared.total, "records")
            return progress, await run.write_file(sessions, prepared, path, progress.update), path
        finally:
            await engine.dispose()

    with database(settings) as resolved:
        migrate(resolved)
        try:
            progress, written, path = asyncio.run(export(resolved.database_url or ""))
        except ApiError as exc:
            return refused(exc)
    progress.close(f"{written} records written to {path} ({path.stat().st_size:,} bytes)")
    return 0


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    """What GET .../index/{layer}.{format} gives, written to a file, with the operator's rights."""
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from survey_api.db.engine import make_engine
    from survey_api.db.session import make_sessionmaker, unit_of_work
    from survey_api.errors import ApiError
    from survey_api.indexing import output
    from survey_api.indexing.run import index
    from survey_api.progress import Progress
    from survey_api.web.access import as_operator

    path = Path(args.output or f"{args.project}-index-{args.layer}.{args.format}")

    async def compute(url: str) -> tuple[Progress | None, int]:
        engine = make_engine(url, pool_size=1)
        progress: Progress | None = None

        def report(done: int, total: int) -> None:
            nonlocal progress
            progress = progress or Progress(f"index {args.project}/{args.layer}", total, "records")
            progress.update(done)

        try:
            async with unit_of_work(make_sessionmaker(engine)) as db:
                access = await as_operator(db, args.project)
                run = await index(db, access, args.layer, report)
            tz = ZoneInfo(access.timezone)
            data = await asyncio.to_thread(lambda: b"".join(output.chunks(run, args.format, args.lang, tz)))
            await asyncio.to_thread(path.write_bytes, data)
            return progress, run.result.ranked
        finally:
            await engine.dispose()

    with database(settings) as resolved:
        migrate(resolved)
        try:
            progress, ranked = asyncio.run(compute(resolved.database_url or ""))
        except ApiError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
    summary = f"index of {args.layer}: {ranked} areas ranked, written to {path}"
    if progress is not None:
        progress.close(summary)
    else:
        print(summary, file=sys.stderr)
    return 0


def cmd_publish(args: argparse.Namespace, settings: Settings) -> int:
    """What POST .../publish does, with the operator's rights and a progress bar."""
    from survey_api.db.engine import make_engine
    from survey_api.db.session import make_sessionmaker, unit_of_work
    from survey_api.errors import ApiError
    from survey_api.progress import Progress
    from survey_api.publishing.run import Published, Target, publish
    from survey_api.web.access import as_operator

    async def run(url: str) -> tuple[Progress | None, Published]:
        engine = make_engine(url, pool_size=1)
        progress: Progress | None = None

        def report(done: int, total: int) -> None:
            nonlocal progress
            progress = progress or Progress(f"publish {args.project}", total, "records")
            progress.update(done)

        try:
            async with unit_of_work(make_sessionmaker(engine)) as db:
                access = await as_operator(db, args.project)
                target = Target(url=settings.city_database_url, schema=settings.city_schema)
                return progress, await publish(db, access, target, report)
        finally:
            await engine.dispose()

    with database(settings) as resolved:
        migrate(resolved)
        try:
            progress, published = asyncio.run(run(resolved.database_url or ""))
        except ApiError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
    lines = [f"  {t.name}: {t.upserted} upserted, {t.deleted} deleted" for t in published.tables]
    summary = "\n".join([f"published {args.project} to schema {settings.city_schema!r}:", *lines])
    if progress is not None:
        progress.close(summary)
    else:
        print(summary, file=sys.stderr)
    return 0
