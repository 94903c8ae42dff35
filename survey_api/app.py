"""The Litestar application, built from settings; nothing here runs at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide

from survey_api.db.engine import make_engine
from survey_api.db.session import Sessions, make_sessionmaker, provide_db
from survey_api.intake.items import Validators
from survey_api.intake.pool import Helpers, default_processes
from survey_api.jobs.worker import Worker
from survey_api.openrosa.documents import version_header
from survey_api.routes.areas import AreaController
from survey_api.routes.attachments import AttachmentController
from survey_api.routes.duplicates import DuplicateController
from survey_api.routes.export_jobs import ExportJobController
from survey_api.routes.exports import ExportController
from survey_api.routes.form_media import FormMediaController
from survey_api.routes.forms import FormController
from survey_api.routes.health import health
from survey_api.routes.index import IndexController
from survey_api.routes.openrosa import OPENROSA_HANDLERS
from survey_api.routes.projects import ProjectController
from survey_api.routes.publish import PublishController
from survey_api.routes.quarantine import QuarantineController
from survey_api.routes.records import RecordController, ReviewController
from survey_api.routes.sync import SyncController
from survey_api.routes.users import UserController
from survey_api.settings import Settings, load_settings
from survey_api.stores.media import LocalMedia
from survey_api.tuning import tune_gc
from survey_api.web import openapi
from survey_api.web.auth import auth_middleware, provide_user
from survey_api.web.guard import GuardedRequest, UrlGuard
from survey_api.web.problems import EXCEPTION_HANDLERS

API_CONTROLLERS = [
    UserController,
    ProjectController,
    FormController,
    FormMediaController,
    SyncController,
    RecordController,
    ReviewController,
    DuplicateController,
    QuarantineController,
    ExportController,
    AreaController,
    IndexController,
    ExportJobController,
    PublishController,
    AttachmentController,
]


def create_app(settings: Settings, *, sessionmaker: Sessions | None = None) -> Litestar:
    """Build the app. Tests pass their own `sessionmaker` (and batches are judged in the server
    process, inside the test's transaction); otherwise one is made from the settings, and helper
    processes judge batches (`survey_api.intake.pool`)."""

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        if sessionmaker is not None:
            yield
            return
        if not settings.database_url:
            raise RuntimeError(
                "No database URL: the CLI resolves the embedded server before building the app."
            )
        engine = make_engine(settings.database_url)
        app.state.sessionmaker = make_sessionmaker(engine)
        processes = settings.intake_processes
        if processes is None:  # unset: one helper per core
            processes = default_processes()
        if processes > 0:
            app.state.helpers = Helpers(settings.database_url, processes, settings.max_text_bytes)
            await app.state.helpers.start()
        worker = None
        if settings.worker:  # jobs run here too, so one process is a whole server
            ttl = timedelta(hours=settings.export_ttl_h)
            worker = Worker(
                settings.database_url, app.state.sessionmaker, settings.data_dir, ttl, media=app.state.media
            )
            await worker.start()
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            if app.state.helpers is not None:
                await app.state.helpers.close()
            await engine.dispose()

    api = Router(path="/api/v1", route_handlers=API_CONTROLLERS)
    app = Litestar(
        route_handlers=[health, api, *OPENROSA_HANDLERS],
        dependencies={"db": Provide(provide_db), "user": Provide(provide_user, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[UrlGuard(), auth_middleware()],
        before_send=[version_header],
        request_class=GuardedRequest,
        lifespan=[database],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi.config(),
        state=State(
            {
                "settings": settings,
                "sessionmaker": sessionmaker,
                "validators": Validators(settings.max_text_bytes),
                "media": LocalMedia(settings.media_root),
                "helpers": None,
            }
        ),
        debug=False,
    )
    openapi.describe(app)
    return app


def from_environment() -> Litestar:
    """The app of each `serve --workers N` process: settings from `SURVEY_*`, the database URL resolved."""
    app = create_app(load_settings())
    tune_gc()
    return app
