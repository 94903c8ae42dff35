"""Export jobs: an export made by a worker into a file that stays for a while and is downloaded in
pieces if need be (`Range`), for exports too large to wait for in one request."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.response import Stream

from survey_api.db.session import DB
from survey_api.errors import Conflict, Invalid
from survey_api.exporting import jobs
from survey_api.exporting.params import MAX_PARAM, ExportRequest
from survey_api.routes.exports import DOWNLOADS, base_url
from survey_api.web.access import Action, member
from survey_api.web.auth import Caller
from survey_api.web.problems import MEDIA_TYPE as PROBLEM_MEDIA
from survey_api.web.problems import ProblemDocument, problem

Text = Annotated[str, msgspec.Meta(max_length=MAX_PARAM)]
CHUNK = 256 * 1024
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class NewExportJob(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The parameters of `GET .../export.{format}`, as JSON, with the form and the format."""

    form: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PARAM)]
    format: Literal["xlsx", "csv", "geojson"]
    lang: Text | None = None
    labels: bool | None = None
    include: Literal["clean", "all"] | None = None
    since: Text | None = None
    until: Text | None = None
    bbox: Text | None = None
    area: Text | None = None
    geometry: Text | None = None
    media: bool | None = None


class ExportJob(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    status: Literal["queued", "running", "done", "failed", "expired"]
    form: str
    format: str
    rows: int
    """Records written so far."""
    total: int
    """Records the filters matched when the job was asked for."""
    progress: float
    error: str | None = None
    """Why a failed job failed, in a sentence."""
    file: str | None = None
    """Where to download the file, once done."""
    expires_at: datetime | None = None
    """When a done job's file is deleted (then the job is `expired`)."""
    created_at: datetime
    finished_at: datetime | None = None


RANGE_HELP = "`bytes=START-`, `bytes=START-END` or `bytes=-LAST`: a part of the file (206)."
IF_RANGE_HELP = "The `ETag` of the part already downloaded: the range is sent only if the file is the same."
GONE, UNSATISFIABLE = "Gone", "Range not satisfiable"
PROBLEM = {"data_container": ProblemDocument, "media_type": PROBLEM_MEDIA, "generate_examples": False}


class ExportJobController(Controller):
    tags = ["exports"]

    @post("/projects/{project:str}/exports", status_code=202)
    async def create_job(
        self, project: FromPath[str], data: JSONBody[NewExportJob], request: Request, db: DB, user: Caller
    ) -> Response[ExportJob]:
        """Ask for an export as a job (analysts, coordinators); follow `Location` for its progress.

        The body takes the parameters of `GET .../forms/{key}/export.{format}` as JSON, with `form`
        and `format`; they are checked now (a problem is located at `["body", name]`), the export
        runs later in a worker. When `status` is `done`, `file` is where to download it. Links to
        files (photo columns) point at `SURVEY_PUBLIC_URL`, or at the address this request came in on;
        `media: true` makes the file a zip with the records' files (see the export)."""
        access = await member(db, project, user, Action.READ)
        wanted = ExportRequest(**msgspec.structs.asdict(data))
        try:
            job = await jobs.start(db, access, wanted, base_url(request))
        except Invalid as exc:
            located = [msgspec.structs.replace(p, loc=["body", *p.loc[1:]]) for p in exc.problems]
            raise Invalid(exc.detail, located) from None
        return Response(view(job), status_code=202, headers={"Location": f"/api/v1/exports/{job.id}"})

    @get("/exports/{job_id:uuid}")
    async def job_status(self, job_id: FromPath[uuid.UUID], db: DB, user: Caller) -> ExportJob:
        """An export job: `status` (`queued`, `running`, `done`, `failed`, `expired`), `rows` written
        and `progress` 0–1; once done, `file` and `expires_at`. Its creator and whoever may read its
        project see it."""
        job, _ = await jobs.visible(db, user, job_id)
        return view(job)

    @get(
        "/exports/{job_id:uuid}/file",
        opt={"download": DOWNLOADS, "problems": (403, 409)},
        responses={
            206: ResponseSpec(
                bytes,
                media_type="application/octet-stream",
                generate_examples=False,
                description="The bytes a `Range: bytes=START-END` asked for, as `Content-Range` says.",
            ),
            410: ResponseSpec(
                description="The file expired and was deleted: run the export again.", **PROBLEM
            ),
            416: ResponseSpec(description="The `Range` starts past the file's end.", **PROBLEM),
        },
    )
    async def job_file(
        self,
        job_id: FromPath[uuid.UUID],
        request: Request,
        db: DB,
        user: Caller,
        range_: Annotated[str | None, HeaderParameter(name="range", description=RANGE_HELP)] = None,
        if_range: Annotated[str | None, HeaderParameter(name="if-range", description=IF_RANGE_HELP)] = None,
    ) -> Response[Any]:
        """A done job's file. `Range: bytes=START-` resumes a broken download (206); `If-Range` with
        the `ETag` makes sure the rest is of the same file. 409 until the job is done, 410 once its
        file has expired; 403 if the file holds personal data the caller may not see."""
        job, may = await jobs.visible(db, user, job_id)
        if job.status == "expired":
            return problem(
                410, f"The file of export job {job_id} expired and was deleted; run it again.", title=GONE
            )
        if job.status != "done" or not job.file_path:
            raise Conflict(f"Export job {job_id} is {job.status}; its file is there once it is done.")
        if not may:
            return problem(403, "The file holds personal data, which you may not see in this project.")
        path = Path(request.app.state.settings.data_dir) / job.file_path
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return problem(
                410, f"The file of export job {job_id} is no longer kept; run it again.", title=GONE
            )
        etag = f'"{job.id.hex}-{size}"'
        headers = {
            "Accept-Ranges": "bytes",
            "ETag": etag,
            "Content-Disposition": f'attachment; filename="{job.params.get("filename", path.name)}"',
            "Cache-Control": "private, no-store",
        }
        wanted = byte_range(range_, size)
        if wanted is None or (if_range is not None and if_range != etag):
            start, end, status = 0, size - 1, 200
        elif wanted == "unsatisfiable":
            answer = problem(
                416,
                f"The file has {size} bytes; the range asked for starts past its end.",
                title=UNSATISFIABLE,
            )
            answer.headers.update({"Content-Range": f"bytes */{size}", **headers})
            return answer
        else:
            (start, end), status = wanted, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        media = job.params.get("media_type", "application/octet-stream")
        return Stream(
            chunks(path, start, end - start + 1), status_code=status, media_type=media, headers=headers
        )


def byte_range(header: str | None, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """The one range of a `Range` header, within the file; None to send it whole (no header, another
    unit, several ranges or a malformed one, which RFC 9110 lets a server ignore)."""
    found = RANGE.fullmatch((header or "").strip())
    if found is None or not any(found.groups()):
        return None
    first, last = found.groups()
    if not first:  # the last N bytes
        if int(last) == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - int(last)), size - 1
    start, end = int(first), int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


async def chunks(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        await asyncio.to_thread(handle.seek, start)
        while length > 0:
            chunk = await asyncio.to_thread(handle.read, min(CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()


def view(job: Any) -> ExportJob:
    params: dict[str, Any] = job.params or {}
    done = job.status == "done"
    expires = params.get("expires_at")
    return ExportJob(
        id=job.id,
        status=job.status,
        form=str(params.get("form", "")),
        format=str(params.get("format", "")),
        rows=job.rows,
        total=int(params.get("total", 0)),
        progress=job.progress,
        error=job.error,
        file=f"/api/v1/exports/{job.id}/file" if done else None,
        expires_at=datetime.fromisoformat(expires) if expires and job.status in ("done", "expired") else None,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )
