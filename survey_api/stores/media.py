"""The media store: files kept by content (sha256), behind an interface another store can replace.

`LocalMedia` writes under `SURVEY_MEDIA_DIR` (by default `SURVEY_DATA_DIR/media`), one file per
distinct content at `ab/cd/abcd…`, written to a temporary name and renamed so a reader never sees half
a file. An S3-compatible store would implement the same three methods over `aiobotocore` (or
`obstore`), with the sha256 as the object key; nothing else in the server knows where bytes live.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class MediaStore(Protocol):
    async def put(self, data: bytes) -> str:
        """Keep the bytes (once, however often they are put); their sha256 in hex."""
        ...

    async def get(self, sha256: str) -> bytes | None:
        """The bytes kept under `sha256`, or None when there are none."""
        ...

    async def exists(self, sha256: str) -> bool: ...


class LocalMedia:
    """A folder of files named by their sha256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, self.path(digest), data)
        return digest

    async def get(self, sha256: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self.path(sha256).read_bytes)
        except FileNotFoundError:
            return None

    async def exists(self, sha256: str) -> bool:
        return await asyncio.to_thread(self.path(sha256).is_file)

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        if target.is_file() and target.stat().st_size == len(data):
            return  # the same content is already kept
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
