"""A zip written as it is made, for generators that yield its bytes to a client as they fill.

zipfile, given a sink it cannot seek or ask for its position, writes each member's sizes and CRC
in a data descriptor after its data instead of going back to the local header: the archive is
valid when complete, whatever its size, and never needs to be held whole.
"""

from __future__ import annotations

import stat
import tempfile
import time
import zipfile
from collections.abc import Iterator
from typing import IO

CHUNK = 64 * 1024
SPOOL_IN_MEMORY = 4 * 1024 * 1024  # a spool moves to disk past this many bytes


class Sink:
    """Collects what zipfile writes until the generator takes it; no tell() or seek(), on purpose."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


class ZipStream:
    """A zipfile over a Sink: write members one at a time, then drain() what is ready to send."""

    def __init__(self, *, compresslevel: int = 1) -> None:
        # Level 1: deflate at 6 took as long as making the XML; 1 is 4× faster for files ~25% larger.
        self.sink = Sink()
        self.zip = zipfile.ZipFile(self.sink, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self.level = compresslevel

    def open(self, name: str, *, zip64: bool = False) -> IO[bytes]:
        """A member dated now and readable by all once extracted (zipfile's own default is 1980)."""
        info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = self.level  # as zipfile.open(name) sets it; 3.13 keeps this name as an alias
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        return self.zip.open(info, "w", force_zip64=zip64)

    def add(self, name: str, text: str) -> None:
        with self.open(name) as member:
            member.write(text.encode())

    def drain(self, at_least: int = CHUNK) -> Iterator[bytes]:
        """Yields the bytes written so far once there are at least `at_least` of them."""
        if self.sink.size >= at_least:
            yield self.sink.take()

    def close(self) -> bytes:
        """Writes the central directory; returns the archive's last bytes."""
        self.zip.close()
        return self.sink.take()


class Spool:
    """Text held back for a member written later (a sheet whose rows arrive beside another's).

    Kept in memory up to a few MB, then in a temporary file, so memory stays flat at any size.
    """

    def __init__(self, flush_at: int = 256 * 1024) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by close())
        self._parts: list[str] = []
        self._pending = 0
        self._flush_at = flush_at
        self.size = 0

    def add(self, text: str) -> None:
        self._parts.append(text)
        self._pending += len(text)
        if self._pending >= self._flush_at:
            self._flush()

    def _flush(self) -> None:
        if self._parts:
            data = "".join(self._parts).encode()
            self._file.write(data)
            self.size += len(data)
            self._parts.clear()
            self._pending = 0

    def total(self) -> int:
        """The spool's size in bytes, everything added so far included."""
        self._flush()
        return self.size

    def copy_to(self, member: IO[bytes], block: int = 1024 * 1024) -> Iterator[None]:
        """Copies the spool into `member` a block at a time, pausing after each so the caller can drain."""
        self._flush()
        self._file.seek(0)
        while data := self._file.read(block):
            member.write(data)
            yield

    def close(self) -> None:
        self._file.close()
