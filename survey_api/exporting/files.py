"""The files of an export with `media=true`: those the exported records' submissions sent, read from
the media store one at a time into the zip after the table file(s)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from cityindex.areas import Area
from exports import bundle
from exports.zipstream import ZipStream
from survey_api.exporting.areas import inside
from survey_api.stores import attachments as attachment_store
from survey_api.stores.exports import Filters
from survey_api.stores.media import MediaStore

log = logging.getLogger(__name__)


def sent(
    db: Any, project_id: uuid.UUID, form_id: uuid.UUID, filters: Filters, area: tuple[list[Area], int] | None
) -> AsyncIterator[Sequence[Any]]:
    """Pages of (submission uuid, name, sha256, field, ...) of the files of the records `filters` and
    `area` pick."""
    pages = attachment_store.for_export(db, project_id, form_id, filters)
    return inside(pages, area, lon=4, lat=5) if area is not None else pages


async def added(
    files: AsyncIterator[Sequence[Any]], media: MediaStore, zipped: ZipStream, hidden: set[str]
) -> AsyncIterator[bytes]:
    """Each file (submission uuid, name, sha256, field, ...) put in the zip; one whose bytes are gone,
    or that answers a field in `hidden` (sensitive, for a caller without pii), is left out."""
    async for page in files:
        for submission, filename, sha256, field, *_ in page:
            if field in hidden:
                continue
            data = await media.get(sha256)
            if data is None:
                log.warning(
                    "export: the bytes of %r of submission %r (%s) are missing", filename, submission, sha256
                )
                continue
            chunk = await asyncio.to_thread(
                bundle.file_into, zipped, bundle.media_path(submission, filename), data
            )
            if chunk:
                yield chunk
