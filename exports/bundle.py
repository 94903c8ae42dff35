"""An export with its files: one zip holding the table file(s), then `media/<submission>/<file name>`
for every file the exported records' submissions sent, written as they come (never held whole).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from exports.zipstream import ZipStream

MEDIA = "media"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def table_into(stream: ZipStream, name: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """One table file (an .xlsx, a .csv, a .geojson as its writer makes it) as the member `name`."""
    with stream.open(name, zip64=True) as member:  # its size is not known in advance
        for chunk in chunks:
            member.write(chunk)
            yield from stream.drain()
    yield from stream.drain()


def media_path(submission: str, filename: str) -> str:
    """Where a file goes in the zip; names a file system would refuse (`..`, `:` on Windows) made safe."""
    return f"{MEDIA}/{_safe(submission)}/{_safe(filename)}"


def file_into(stream: ZipStream, path: str, data: bytes) -> bytes:
    """One attached file as a member; the zip's bytes ready to send."""
    with stream.open(path, zip64=len(data) > 2**31 - 1) as member:
        member.write(data)
    return stream.sink.take() if stream.sink.size else b""


def _safe(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip(" ")
    return cleaned if cleaned.strip(".") else "_" + cleaned
