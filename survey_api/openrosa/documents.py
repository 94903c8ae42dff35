"""The XML documents an OpenRosa client reads: the form list, a manifest, a submission's response.

ODK Collect parses these with a namespace-aware parser: the `xmlns` of each root is part of the
contract, and so is `text/xml; charset=utf-8` with `X-OpenRosa-Version: 1.0` on every response.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    """What every OpenRosa response carries (the server adds `Date`)."""
    return {VERSION_HEADER: VERSION}


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


async def version_header(message: Any, scope: Any) -> None:
    """A `before_send` hook: `X-OpenRosa-Version` on every response under /openrosa/, the server's own
    answers (an unknown path, a method not allowed, a body over the size limit) included."""
    if message["type"] != "http.response.start" or not scope.get("path", "").startswith("/openrosa/"):
        return
    headers = message.setdefault("headers", [])
    if not any(name.lower() == b"x-openrosa-version" for name, _ in headers):
        headers.append((b"x-openrosa-version", VERSION.encode()))
