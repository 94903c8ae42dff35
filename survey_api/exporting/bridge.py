"""Pages read on the event loop feed a writer that runs in a worker thread; its bytes come back as an
async stream. The loop only moves pages and chunks, so a large export never blocks other requests.

Memory is bounded by a short queue of pages between the two sides. When the consumer stops (a client
hangs up), the writer thread is told to stop at its next page and the reader is cancelled.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

PAGES_AHEAD = 4
_POLL_S = 0.2


class Stopped(Exception):
    """The consumer went away; the writer ends here."""


class _End:
    pass


_END = _End()


class Bridge:
    """One export's pipe: `count` is how many items the writer has taken so far (its progress)."""

    def __init__(self) -> None:
        self.count = 0
        self._inbox: queue.Queue[Any] = queue.Queue(maxsize=PAGES_AHEAD)
        self._stop = threading.Event()

    def items(self, convert: Callable[[Any], Any]) -> Iterator[Any]:
        """In the writer's thread: the items of each page as the reader delivers them."""
        while True:
            try:
                page = self._inbox.get(timeout=_POLL_S)
            except queue.Empty:
                if self._stop.is_set():
                    raise Stopped from None
                continue
            if page is _END:
                return
            if isinstance(page, BaseException):
                raise page
            for item in page:
                yield convert(item)
                self.count += 1

    def _put(self, page: Any) -> None:
        while not self._stop.is_set():
            try:
                self._inbox.put(page, timeout=_POLL_S)
                return
            except queue.Full:
                continue

    async def run(
        self,
        pages: AsyncIterator[Sequence[Any]],
        writer: Callable[[Iterator[Any]], Iterator[bytes]],
        convert: Callable[[Any], Any],
    ) -> AsyncIterator[bytes]:
        """The writer's chunks, as it makes them from `pages` (each item passed through `convert`)."""
        chunks = writer(self.items(convert))
        feeding = asyncio.create_task(self._feed(pages))
        try:
            while True:
                chunk = await asyncio.to_thread(next, chunks, None)
                if chunk is None:
                    break
                yield chunk
            await feeding  # surfaces a reader's error that came after the writer's end
        finally:
            self._stop.set()
            feeding.cancel()  # a no-op once it has ended; either way its outcome is collected here
            await asyncio.gather(feeding, return_exceptions=True)

    async def _feed(self, pages: AsyncIterator[Sequence[Any]]) -> None:
        try:
            async for page in pages:
                await asyncio.to_thread(self._put, page)
        except Exception as exc:  # handed to the writer, which raises it in its own thread
            await asyncio.to_thread(self._put, exc)
            raise
        await asyncio.to_thread(self._put, _END)
