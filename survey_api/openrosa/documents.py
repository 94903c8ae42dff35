"""The XML documents an OpenRosa client reads: the form list, a manifest, a submission's response.

ODK Collect parses these with a namespace-aware parser: the `xmlns` of each root is part of the
contract, and so is `text/xml; charset=utf-8` with `X-OpenRosa-Version: 1.0` on every response.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import msgspec
from litestar import Response

XML_TYPE = "text/xml"  # Litestar adds `; charset=utf-8`, as Collect requires
VERSION_HEADER = "X-OpenRosa-Version"
VERSION = "1.0"
XFORMS_LIST = "http://openrosa.org/xforms/xformsList"
MANIFEST = "http://openrosa.org/xforms/xformsManifest"
RESPONSE = "http://openrosa.org/http/response"


class ListedForm(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the form list: what Collect shows and how it fetches and compares the form."""

    form_id: str
    name: str
    version: str
    md5: str
    download_url: str
    manifest_url: str | None


class MediaEntry(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    md5: str
    download_url: str


def headers() -> dict[str, str]:
    """What every OpenRosa response carries; Collect checks the version and trusts the date."""
    return {VERSION_HEADER: VERSION, "Date": format_datetime(datetime.now(UTC), usegmt=True)}


def xml_response(body: str, status: int = 200, extra: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        body.encode("utf-8"), status_code=status, media_type=XML_TYPE, headers={**headers(), **(extra or {})}
    )


def form_list(forms: Iterable[ListedForm]) -> str:
    entries = []
    for form in forms:
        manifest = (
            f"<manifestUrl>{escape(form.manifest_url)}</manifestUrl>" if form.manifest_url is not None else ""
        )
        entries.append(
            "<xform>"
            f"<formID>{escape(form.form_id)}</formID>"
            f"<name>{escape(form.name)}</name>"
            f"<version>{escape(form.version)}</version>"
            f"<hash>md5:{form.md5}</hash>"
            f"<downloadUrl>{escape(form.download_url)}</downloadUrl>"
            f"{manifest}"
            "</xform>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<xforms xmlns="{XFORMS_LIST}">{"".join(entries)}</xforms>'
    )


def manifest(files: Iterable[MediaEntry]) -> str:
    entries = "".join(
        "<mediaFile>"
        f"<filename>{escape(f.filename)}</filename>"
        f"<hash>md5:{f.md5}</hash>"
        f"<downloadUrl>{escape(f.download_url)}</downloadUrl>"
        "</mediaFile>"
        for f in files
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<manifest xmlns="{MANIFEST}">{entries}</manifest>'


def submission_response(message: str, nature: str = "submit_success") -> str:
    """`<OpenRosaResponse>`: Collect shows the message to the volunteer after sending."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<OpenRosaResponse xmlns="{RESPONSE}">'
        f"<message nature={quoteattr(nature)}>{escape(message)}</message></OpenRosaResponse>"
    )


class VersionHeader:
    """ASGI middleware: `X-OpenRosa-Version` on every response under /openrosa, the server's own
    errors (a body over the size limit, an unknown path) included."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/openrosa/"):
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-openrosa-version" for name, _ in headers):
                    headers.append((b"x-openrosa-version", VERSION.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)
