"""The bridge between the database reader on the loop and the writer in its thread (no database)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from survey_api.exporting.bridge import Bridge


async def pages(count: int, size: int = 10, fail_at: int | None = None) -> AsyncIterator[list[int]]:
    for page in range(count):
        if page == fail_at:
            raise RuntimeError("the cursor broke")
        await asyncio.sleep(0)
        yield list(range(page * size, (page + 1) * size))


def lines(items: Iterator[int]) -> Iterator[bytes]:
    for item in items:
        yield f"{item}\n".encode()


async def test_every_item_reaches_the_writer_in_order_and_is_counted():
    bridge = Bridge()
    out = b"".join([chunk async for chunk in bridge.run(pages(50), lines, lambda x: x * 2)])
    assert out.decode().split() == [str(2 * i) for i in range(500)]
    assert bridge.count == 500


async def test_a_reader_error_reaches_the_consumer():
    bridge = Bridge()
    with pytest.raises(RuntimeError, match="the cursor broke"):
        async for _ in bridge.run(pages(10, fail_at=3), lines, lambda x: x):
            pass


async def test_a_consumer_that_stops_stops_the_writer_thread_and_the_reader():
    ended = threading.Event()
    read: list[int] = []

    async def endless() -> AsyncIterator[list[int]]:
        page = 0
        while True:
            read.append(page)
            yield [page]
            page += 1

    def writer(items: Iterator[int]) -> Iterator[bytes]:
        try:
            for item in items:
                yield str(item).encode()
        finally:
            ended.set()

    bridge = Bridge()
    stream = bridge.run(endless(), writer, lambda x: x)
    got = [await anext(stream) for _ in range(5)]
    assert got == [b"0", b"1", b"2", b"3", b"4"]
    await stream.aclose()  # what a client hanging up does to a streamed response
    assert await asyncio.to_thread(ended.wait, 5), "the writer thread did not stop"
    pages_read = len(read)
    await asyncio.sleep(0.3)
    assert len(read) == pages_read, "the reader went on after the consumer stopped"
    assert pages_read < 5 + 10  # only the few pages queued ahead were read
