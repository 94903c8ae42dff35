"""A tablet's configuration QR code: what ODK Collect (and KoboCollect) scans to join a project.

Collect reads a QR code's text as base64 of zlib-deflated UTF-8 JSON with a `general` object (its
settings: `server_url`, `username`, ...), an `admin` object (required, may be empty) and an optional
`project` (`name`, one-character `icon`, `#rrggbb` `color`); ODK Central's app-user codes are built
the same way. The token rides in the server URL's path, so the tablet needs no username or password.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import re
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import segno

TOKEN = re.compile(r"[A-Za-z0-9_-]+")
"""What `POST /api/v1/auth/token` issues (sv_ and URL-safe base64): safe in a URL path as it is."""

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
"""A project's slug, as POST /projects accepts it."""

COLORS = ("#3F51B5", "#2296F3", "#489789", "#5DAF50", "#F9C028", "#EA4633", "#9F50B0", "#795548")
"""Project colours a tablet shows beside the icon; one per slug, so two projects on a tablet differ."""


class Refused(ValueError):
    """A URL, token or slug that would make a code the tablet cannot use; the message says why."""


def base_url(url: str) -> str:
    """The server's address as the tablet will reach it, without a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"--url must be http://HOST[:PORT] or https://HOST[:PORT], not {url!r}.")
    if parts.query or parts.fragment or parts.username or any(c.isspace() for c in url.strip()):
        raise Refused(f"--url is the server's address, without a query, fragment, user or spaces: {url!r}.")
    try:
        _ = parts.port  # urlsplit checks the port only when asked
    except ValueError:
        raise Refused(f"--url has a port that is not a number from 0 to 65535: {url!r}.") from None
    path = parts.path.rstrip("/")
    if "/openrosa/" in f"{path}/":
        raise Refused(
            f"--url is the server's address (as in http://HOST:PORT), not an OpenRosa URL: {url!r}."
        )
    return f"{parts.scheme}://{parts.netloc}{path}"


def loopback(url: str) -> bool:
    """Whether the address is this machine's own, which a tablet cannot reach."""
    host = urlsplit(url.strip()).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def openrosa_url(url: str, token: str, project_slug: str) -> str:
    """The OpenRosa address Collect is given: the token in the path is the tablet's identity."""
    if not TOKEN.fullmatch(token):
        raise Refused("--token must be a token from POST /api/v1/auth/token (letters, digits, - and _).")
    if not SLUG.fullmatch(project_slug):
        raise Refused(f"--project must be a project's slug (a-z, 0-9, - and _), not {project_slug!r}.")
    return f"{base_url(url)}/openrosa/key/{token}/projects/{project_slug}"


def collect_settings(server_url: str, token: str, project_slug: str, project_name: str) -> dict[str, Any]:
    """Collect's settings for one project, as ODK Central gives them for an app user.

    `server_url` is the server's address as the tablet reaches it (http://192.168.1.10:8000);
    the OpenRosa path with the token and the project is added here.
    Forms on the tablet follow the server's list exactly (new versions downloaded, withdrawn ones
    removed) and finalized submissions are sent as soon as any network is there: the tablet needs
    no setting by hand.
    """
    name = project_name.strip() or project_slug
    return {
        "general": {
            "server_url": openrosa_url(server_url, token, project_slug),
            "username": "",
            "form_update_mode": "match_exactly",
            "autosend": "wifi_and_cellular",
        },
        "admin": {},
        "project": {"name": name, "icon": icon(name, project_slug), "color": color(project_slug)},
    }


def icon(name: str, project_slug: str) -> str:
    """The letter in the project's round icon on the tablet: the name's first letter or digit."""
    return next((c.upper() for c in name if c.isalnum()), project_slug[0].upper())


def color(project_slug: str) -> str:
    return COLORS[zlib.crc32(project_slug.encode()) % len(COLORS)]


def qr_payload(settings: dict[str, Any]) -> str:
    """The text in the code, as Collect decodes it: base64 (standard, unwrapped) of zlib of the JSON."""
    text = json.dumps(settings, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode("ascii")


def qr_code(payload: str) -> segno.QRCode:
    """The smallest code for the text; segno raises the error correction when it costs no size."""
    return segno.make_qr(payload, error="l", encoding="ascii")


def save_png(payload: str, path: Path, scale: int = 8) -> None:
    """A PNG with the quiet zone around it, large enough to scan from a screen or a printout."""
    qr_code(payload).save(path, kind="png", scale=scale, border=4)


def terminal_text(payload: str) -> str:
    """The code drawn with half blocks, two rows of modules per line (light text on a dark terminal)."""
    out = io.StringIO()
    qr_code(payload).terminal(out=out, compact=True)
    return out.getvalue()
