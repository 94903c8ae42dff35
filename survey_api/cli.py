"""The `survey-api` command: serve, worker, migrate, user create, export, index, publish, demo, collect-qr."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

import msgspec

from survey_api.reports import cmd_export, cmd_index, cmd_publish
from survey_api.settings import Settings, SettingsError, load_settings
from survey_api.startup import database, migrate


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from survey_api.app import create_app
    from survey_api.tuning import tune_gc

    # uvicorn re-raises SIGTERM after its graceful shutdown; make that an exit that unwinds, so the
    # embedded PostgreSQL is released below instead of the process dying by the signal.
    signal.signal(signal.SIGTERM, stop_quietly)
    try:
        with database(settings) as resolved:
            migrate(resolved)
            print(
                f"survey-api on http://{args.host}:{args.port}  (API docs: /schema)",
                file=sys.stderr,
                flush=True,
            )
            if args.workers > 1:  # each worker builds its app from the environment, URL resolved here
                os.environ["SURVEY_DATABASE_URL"] = resolved.database_url or ""
                # Each worker judges its own batches, unless helpers are asked for (then each has its own).
                os.environ.setdefault("SURVEY_INTAKE_PROCESSES", "0")
                uvicorn.run(
                    "survey_api.app:from_environment",
                    factory=True,
                    workers=args.workers,
                    host=args.host,
                    port=args.port,
                    log_level="info",
                    access_log=False,
                )
            else:
                app = create_app(resolved)
                tune_gc()
                uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from survey_api.demo.run import main as demo

    return demo(args, settings)


def stop_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    with database(settings) as resolved:
        migrate(resolved)
    print("Database is at the latest schema.", file=sys.stderr)
    return 0


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    from survey_api.db.engine import make_engine
    from survey_api.db.session import make_sessionmaker, unit_of_work
    from survey_api.errors import Conflict
    from survey_api.stores import users

    if refused := refuse_user(args):  # before any database: what POST /users would refuse, refused here
        print(f"error: {refused}", file=sys.stderr)
        return 2

    async def create(url: str) -> dict[str, str]:
        engine = make_engine(url, pool_size=1)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as db:
                row = await users.create(
                    db, email=args.email, name=args.name, password=args.password, admin=args.admin
                )
                token, _ = await users.issue_token(db, row.id, "cli")
                return {"id": str(row.id), "email": row.email, "token": token}
        finally:
            await engine.dispose()

    with database(settings) as resolved:
        migrate(resolved)
        try:
            created = asyncio.run(create(resolved.database_url or ""))
        except Conflict as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
    sys.stdout.write(msgspec.json.encode(created).decode() + "\n")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run jobs from the queue (export jobs, and the deletion of expired files) until SIGTERM or Ctrl-C."""
    from datetime import timedelta

    from survey_api.db.engine import make_engine
    from survey_api.db.session import make_sessionmaker
    from survey_api.jobs.worker import GRACE_S, Worker
    from survey_api.stores.media import LocalMedia

    async def work(url: str) -> None:
        engine = make_engine(url, pool_size=4)
        ttl = timedelta(hours=settings.export_ttl_h)
        media = LocalMedia(settings.media_root)  # SURVEY_MEDIA_DIR, as serve's worker reads it
        worker = Worker(url, make_sessionmaker(engine), settings.data_dir, ttl, media=media)
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        await worker.start()
        print("survey-api worker: taking jobs (Ctrl-C or SIGTERM stops it)", file=sys.stderr, flush=True)
        try:
            await stop.wait()
        finally:
            print(
                f"Stopping: running jobs get {GRACE_S:g} s to finish, then go back on the queue.",
                file=sys.stderr,
                flush=True,
            )
            await worker.stop()
            await engine.dispose()

    try:
        with database(settings) as resolved:
            migrate(resolved)
            asyncio.run(work(resolved.database_url or ""))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_collect_qr(args: argparse.Namespace, settings: Settings) -> int:
    """A tablet's configuration code, from a token the coordinator already has: no database."""
    from pathlib import Path

    from survey_api import tablets

    try:
        config = tablets.collect_settings(args.url, args.token, args.project, args.name or args.project)
    except tablets.Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if tablets.loopback(args.url):
        print(
            f"warning: a tablet cannot reach {args.url}: give the server's address on the network.",
            file=sys.stderr,
        )
    payload = tablets.qr_payload(config)
    sys.stdout.write(tablets.terminal_text(payload))
    project = config["project"]
    print(f"Project: {project['name']}")
    print(f"Server URL: {config['general']['server_url']}")
    print(
        "Scan it in ODK Collect or KoboCollect: Add project, Configure with QR code"
        " (the code is drawn for a dark terminal; on a light one, scan the PNG from -o).",
        file=sys.stderr,
    )
    if args.output:
        path = Path(args.output)
        try:
            tablets.save_png(payload, path)
        except OSError as exc:
            print(f"error: cannot write {path}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"QR code written to {path}", file=sys.stderr)
    return 0


def refuse_user(args: argparse.Namespace) -> str | None:
    """Why POST /users would refuse this user, in a sentence; None when it would create them."""
    from survey_api.routes.users import NewUser

    wanted = {"email": args.email, "name": args.name, "password": args.password, "admin": args.admin}
    try:
        msgspec.convert(wanted, NewUser)
    except msgspec.ValidationError as exc:
        rule, _, where = str(exc).partition(" - at `$.")
        field = where.rstrip("`")
        if field == "email":
            return f"{args.email!r} is not an email address (name@domain, no spaces or control characters)."
        return f"--{field} is refused: {rule}."
    return None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="survey-api", description="Backend for urban field surveys.")
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations, then serve HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="server processes sharing the port (default 1)")
    serve.set_defaults(run=cmd_serve)

    sub.add_parser("migrate", help="apply migrations and exit").set_defaults(run=cmd_migrate)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create a user and print its first token as JSON")
    create.add_argument("email")
    create.add_argument("--name")
    create.add_argument("--password", help="lets the user log in with POST /auth/token")
    create.add_argument("--admin", action="store_true")
    create.set_defaults(run=cmd_user_create)

    export = sub.add_parser("export", help="write a form's records to an xlsx, csv (or zip) or GeoJSON file")
    export.add_argument("project", help="the project's slug")
    export.add_argument("form", help="the form's key")
    export.add_argument("--format", required=True, choices=("xlsx", "csv", "geojson"))
    export.add_argument("-o", "--output", help="the file to write (default: PROJECT-FORM.EXT here)")
    export.add_argument(
        "--include", choices=("clean", "all"), help="clean records (default) or all live ones"
    )
    export.add_argument("--since", help="records first received at or after this RFC 3339 time")
    export.add_argument("--until", help="records first received before this RFC 3339 time")
    export.add_argument("--bbox", help="minlon,minlat,maxlon,maxlat")
    export.add_argument("--area", help="LAYER:CODE")
    export.add_argument("--lang", help="the language of labels (with --labels)")
    export.add_argument("--labels", action="store_true", help="labels instead of names and choice values")
    export.add_argument("--geometry", help="GeoJSON: a geopoint, geotrace or geoshape field as the geometry")
    export.add_argument(
        "--media", action="store_true", help="a zip of the table and the records' files (photos, recordings)"
    )
    export.set_defaults(run=cmd_export)

    index = sub.add_parser("index", help="write the city index of an area layer to a file")
    index.add_argument("project", help="the project's slug")
    index.add_argument("layer", help="the area layer")
    index.add_argument("-o", "--output", help="the file to write (default: PROJECT-index-LAYER.FORMAT here)")
    index.add_argument("--format", default="geojson", choices=("json", "geojson", "xlsx", "csv"))
    index.add_argument("--lang", help="the language of names and labels")
    index.set_defaults(run=cmd_index)

    publish = sub.add_parser(
        "publish",
        help="make the city database (SURVEY_CITY_DATABASE_URL) current with the project's clean records",
    )
    publish.add_argument("project", help="the project's slug")
    publish.set_defaults(run=cmd_publish)

    demo = sub.add_parser("demo", help="load the Korat demo project over HTTP and print its tokens and URLs")
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="a running server (else one is started)")
    demo.add_argument("--reset", action="store_true", help="build the demo again, under a new project slug")
    demo.add_argument("--keep-serving", action="store_true", help="leave the server it started running")
    demo.add_argument("--admin-token", help="an admin's token (default: one made with `user create --admin`)")
    demo.set_defaults(run=cmd_demo)

    qr = sub.add_parser(
        "collect-qr",
        help="print the QR code that sets up ODK Collect / KoboCollect on a tablet for a project",
    )
    qr.add_argument(
        "--url", required=True, help="the server as tablets reach it, e.g. http://192.168.1.10:8000"
    )
    qr.add_argument("--project", required=True, help="the project's slug")
    qr.add_argument("--token", required=True, help="the tablet's token, from POST /api/v1/auth/token")
    qr.add_argument("--name", help="the project's name on the tablet (default: the slug)")
    qr.add_argument("-o", "--output", help="also write the code to this PNG file")
    qr.set_defaults(run=cmd_collect_qr)

    worker = sub.add_parser(
        "worker", help="run export jobs from the queue until stopped (serve runs one in-process too)"
    )
    worker.set_defaults(run=cmd_worker)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return args.run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
