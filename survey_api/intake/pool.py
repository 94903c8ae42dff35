"""Batches judged in helper processes: the second core for Python, and the event loop kept free.

A 500-item batch costs 100–180 ms of Python here (parsing, validation, content hashes, duplicate
scoring, COPY encoding). Judged in the server process, it holds up every other request for as long,
and the server's Python runs on one core whatever the number of clients: with two clients pushing at
once, one batch waits while the other is judged. uvicorn's `--workers` do not fix that for tablets
that keep their connection open: workers balance connections, not requests, and two connections
often land on one worker.

So the server reads, authenticates and authorizes a batch, then hands its bytes to the next free
helper, a process with its own connections to the same database. The helper judges the batch,
commits it in its own transaction and sends back the encoded answer (a result or a problem
document). Batches go to whichever helper is free, so two batches use two cores however the
clients' connections are spread.

A helper that dies (killed, out of memory) breaks the pool: the batches it was judging are answered
503 (each may or may not have been stored; sending a batch again is always safe), and a new pool
takes the next batches.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import msgspec
from litestar import Response

from survey_api.db.engine import make_engine
from survey_api.db.session import Sessions, make_sessionmaker, unit_of_work
from survey_api.errors import Unavailable
from survey_api.intake import ingest as intake
from survey_api.intake.items import Validators
from survey_api.tuning import tune_gc
from survey_api.web import problems
from survey_api.web.access import ProjectAccess
from survey_api.web.media import encode as media_encode
from sync.batch import Media

log = logging.getLogger("survey_api")


class Reply(msgspec.Struct, frozen=True):
    """A helper's answer to one batch, ready to send; `failure` is the trace of a bug, for the log."""

    status: int
    media_type: str
    body: bytes
    failure: str | None = None

    def response(self) -> Response[bytes]:
        headers = {"Vary": "Accept"} if self.status == 200 else None
        return Response(self.body, status_code=self.status, media_type=self.media_type, headers=headers)


class Helpers:
    """`processes` helper processes judging batches for this server process."""

    def __init__(self, database_url: str, processes: int, max_text: int) -> None:
        self.database_url = database_url
        self.max_text = max_text
        self.processes = processes
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server holds an event loop, threads and open connections.
        return ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(self.database_url, self.max_text, os.getpid()),
        )

    async def start(self) -> None:
        """Start every helper now (each imports the app and connects), not on the first batches."""
        loop = asyncio.get_running_loop()
        ready = [loop.run_in_executor(self.pool, _ready) for _ in range(self.processes)]
        await asyncio.gather(*ready)

    async def push(self, access: ProjectAccess, body: bytes, media: Media, msgpack: bool) -> Response[bytes]:
        """The batch judged and stored by a free helper; its answer as the route sends it."""
        loop = asyncio.get_running_loop()
        pool = self.pool
        try:
            future = loop.run_in_executor(pool, _push, access, body, media, msgpack)
        except BrokenProcessPool:  # a helper died while idle: this batch never started
            pool = self._replace(pool)
            future = loop.run_in_executor(pool, _push, access, body, media, msgpack)
        try:
            reply: Reply = await future
        except BrokenProcessPool as exc:
            self._replace(pool)
            raise Unavailable(
                "The process judging this batch stopped; it may or may not have been stored. "
                "Send it again: a batch sent twice changes nothing the second time."
            ) from exc
        if reply.failure is not None:
            log.error("unhandled error judging a batch in a helper:\n%s", reply.failure)
        return reply.response()

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """A new pool for a broken one (once: batches failing together replace it together)."""
        if self.pool is broken:
            log.error("a helper process stopped; starting new ones")
            broken.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
        return self.pool

    async def close(self) -> None:
        """Let running batches finish, then stop the helpers (before the database stops)."""
        await asyncio.to_thread(self.pool.shutdown, wait=True)


def default_processes() -> int:
    """One helper per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# The helper's side.


class Helper:
    """One helper process's own event loop, engine and validator cache, made once when it starts."""

    def __init__(self, database_url: str, max_text: int) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        # One batch at a time per helper: two connections cover pre-ping and a reconnect.
        self.engine = make_engine(database_url, pool_size=2, max_overflow=0)
        self.sessionmaker: Sessions = make_sessionmaker(self.engine)
        self.validators = Validators(max_text)

    async def push(self, access: ProjectAccess, body: bytes, media: Media, msgpack: bool) -> Reply:
        try:
            async with unit_of_work(self.sessionmaker) as db:
                result = await intake.ingest(db, access, body, media, self.validators)
        except Exception as exc:
            found = problems.document_of(exc)
            if found is None:  # a bug: the server logs its trace
                document = msgspec.json.encode(problems.document(500, problems.UNEXPECTED))
                return Reply(500, problems.MEDIA_TYPE, document, traceback.format_exc())
            return Reply(found.status, problems.MEDIA_TYPE, msgspec.json.encode(found))
        content, media_type = media_encode(result, msgpack)
        return Reply(200, media_type, content)


_helper: Helper | None = None


def _start(database_url: str, max_text: int, server_pid: int) -> None:
    """Each helper's initializer. Ctrl-C reaches the whole process group: the server stops its
    helpers itself, after the batches they are judging. A server killed outright cannot, so each
    helper watches for that and exits (it would otherwise wait for work forever, holding its
    connections)."""
    global _helper
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The server's pid comes from the server: a helper still starting when its server was killed
    # already has another parent, and must see that at once.
    threading.Thread(target=_exit_with_server, args=(server_pid,), daemon=True).start()
    _helper = Helper(database_url, max_text)
    tune_gc()


def _exit_with_server(server_pid: int) -> None:
    while os.getppid() == server_pid:
        time.sleep(1)
    os._exit(0)


def _ready() -> int:
    return os.getpid()


def _push(access: ProjectAccess, body: bytes, media: Media, msgpack: bool) -> Reply:
    assert _helper is not None, "the pool's initializer made it"
    return _helper.loop.run_until_complete(_helper.push(access, body, media, msgpack))
