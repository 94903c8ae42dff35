"""A job worker: takes jobs from the PostgreSQL queue (`survey_api.db.queue`) and runs them, and
deletes export files past their time. `serve` runs one in its process; `survey-api worker` runs one
alone. Any number share one queue, on any number of machines (with one `SURVEY_DATA_DIR` between
them, where the files are).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from pgqueuer import QueueManager
from pgqueuer.domain.types import Channel
from pgqueuer.errors import RetryRequested
from pgqueuer.models import Job

from survey_api.db import queue
from survey_api.db.session import Sessions
from survey_api.exporting import jobs as export_jobs
from survey_api.stores.media import MediaStore

EXPORTS_AT_ONCE = 2  # each export keeps a core busy writing its file
GRACE_S = 10.0  # on stop, running jobs may finish for this long; then they go back on the queue
SWEEP_EVERY_S = 60.0
BUSY_RETRY = timedelta(seconds=30)
RESTART_S = 5.0
ATTEMPTS = 5  # times a job that cannot even start is tried
log = logging.getLogger(__name__)


class Worker:
    """One worker's queue connection, its loop and the expiry sweep; `start`, then `stop`."""

    def __init__(
        self,
        url: str,
        sessions: Sessions,
        data_dir: Path,
        ttl: timedelta,
        sweep_every: float = SWEEP_EVERY_S,
        media: MediaStore | None = None,
    ) -> None:
        self.url, self.sessions, self.data_dir, self.ttl = url, sessions, data_dir, ttl
        self.media = media  # the files of `media=true` exports; None: `<data dir>/media`
        self.sweep_every = sweep_every
        self._manager: QueueManager | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        self._tasks = [asyncio.create_task(self.taking()), asyncio.create_task(self.sweeping())]

    async def taking(self) -> None:
        """Take jobs until stopped; a lost connection is made again after `RESTART_S`."""
        while not self._stopping:
            connection = await self._connect()
            if connection is not None:
                queries = queue.queries(connection)
                manager = QueueManager(queries, channel=Channel(queue.settings().channel))
                manager.entrypoint(export_jobs.KIND)(self.export)
                self._manager = manager
                if self._stopping:
                    manager.shutdown.set()
                log.info("job worker taking jobs")
                try:
                    await manager.run(
                        dequeue_timeout=timedelta(seconds=10),
                        batch_size=1,
                        max_concurrent_tasks=EXPORTS_AT_ONCE,
                    )
                except Exception:
                    log.exception("the job worker lost its queue; it starts again in %s s", RESTART_S)
                finally:
                    self._manager = None
                    with contextlib.suppress(Exception):
                        await connection.close()
            if not self._stopping:
                await asyncio.sleep(RESTART_S)

    async def _connect(self) -> Any:
        try:
            return await queue.connect(self.url)
        except Exception:
            log.exception("the job worker cannot reach the database; it tries again in %s s", RESTART_S)
            return None

    async def export(self, job: Job) -> None:
        try:
            job_id = uuid.UUID((job.payload or b"").decode())
        except ValueError:
            log.error("queue entry %s names no export job: %r", job.id, job.payload)
            return
        try:
            await export_jobs.execute(self.sessions, self.data_dir, self.ttl, job_id, self.media)
        except export_jobs.Busy:
            raise RetryRequested(BUSY_RETRY, "the export runs in another worker") from None
        except Exception:  # before the job could start (the database away?): it is tried again later
            log.exception("export job %s could not start (attempt %d)", job_id, job.attempts + 1)
            if job.attempts + 1 >= ATTEMPTS:
                raise
            raise RetryRequested(BUSY_RETRY, "the export could not start") from None

    async def sweeping(self) -> None:
        while True:
            try:
                await export_jobs.sweep(self.sessions, self.data_dir)
            except Exception:  # the database may be away for a while; the next sweep tries again
                log.exception("the sweep of expired export files failed")
            await asyncio.sleep(self.sweep_every)

    async def stop(self, grace: float = GRACE_S) -> None:
        """Take no more jobs; running ones get `grace` seconds, then are put back on the queue."""
        self._stopping = True
        if self._manager is not None:
            self._manager.shutdown.set()
        if not self._tasks:
            return
        taking, sweeping = self._tasks
        sweeping.cancel()
        done, _ = await asyncio.wait({taking}, timeout=grace)
        if not done:
            taking.cancel()
        await asyncio.gather(taking, sweeping, return_exceptions=True)
        self._tasks = []
        log.info("job worker stopped")

    @property
    def taking_jobs(self) -> bool:
        """Whether it is connected to the queue and taking jobs now."""
        return self._manager is not None and not self._manager.shutdown.is_set()
