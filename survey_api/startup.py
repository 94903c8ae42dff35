"""What every command that touches the database does first: find it (or start the embedded one), migrate."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec

from survey_api.settings import Settings


@contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """Settings with a database URL: the configured one, or the embedded server for the data dir."""
    if settings.database_url:
        yield settings
        return
    from survey_api.embedded import DATABASE, EmbeddedPostgres, ensure_database

    embedded = EmbeddedPostgres(settings.data_dir)
    try:
        print(f"Starting the embedded PostgreSQL in {embedded.pgdata} ...", file=sys.stderr, flush=True)
        url = embedded.start()
        asyncio.run(ensure_database(embedded.admin_dsn(), DATABASE))
        yield msgspec.structs.replace(settings, database_url=url)
    finally:
        embedded.stop()


def migrate(settings: Settings) -> None:
    from survey_api.db.engine import migrate as upgrade

    assert settings.database_url is not None
    upgrade(settings.database_url)
