"""One frozen settings tree, read from the environment when the app is built (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

MAX_BODY_MB = 1024  # a request body is held in memory while it is judged
MAX_TEXT_KB = 16 * 1024  # one text answer
EXPORT_TTL_H = (1, 720)  # hours an export job's file is kept: an hour to a month
MAX_ATTACHMENT_MB = 1024  # one attached file (a photo, a recording)
MAX_SUBMISSION_MB = 10 * 1024  # every file of one submission together
MAX_PUBLIC_URL = 2000  # characters of SURVEY_PUBLIC_URL (links to files must stay under Excel's 2,079)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    data_dir: Path = Path(".survey-data")
    city_database_url: str | None = None
    city_schema: str = "survey"  # the schema publish writes the city tables to
    max_body_mb: float = 16.0
    max_text_kb: int = 64
    max_batch_items: int = 1000
    intake_processes: int | None = (
        None  # helpers judging batches (`survey_api.intake.pool`); None: one per core
    )
    export_ttl_h: int = 24  # hours an export job's file is kept
    worker: bool = True  # `serve` runs a job worker in its process
    media_dir: Path | None = None  # where attachments are stored by sha256; None: data_dir / "media"
    max_attachment_mb: float = 16.0  # one attached file
    max_submission_mb: float = 100.0  # every attached file of one submission together
    public_url: str | None = None
    """The server's address as its users reach it (`https://survey.example.org`), for the links to files
    in exports and publish; None: the address each request came in on."""

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    @property
    def max_text_bytes(self) -> int:
        return self.max_text_kb * 1024

    @property
    def media_root(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    @property
    def max_attachment_bytes(self) -> int:
        return int(self.max_attachment_mb * 1024 * 1024)

    @property
    def max_submission_bytes(self) -> int:
        return int(self.max_submission_mb * 1024 * 1024)


class SettingsError(ValueError):
    """An environment variable that cannot be read; the CLI prints it and exits."""


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read `SURVEY_*` variables; an unset or empty variable keeps its default."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    max_body = get("SURVEY_MAX_BODY_MB")
    try:
        max_body_mb = float(max_body) if max_body else 16.0
    except ValueError as exc:
        raise SettingsError(f"SURVEY_MAX_BODY_MB must be a number of megabytes, not {max_body!r}") from exc
    if not 0 < max_body_mb <= MAX_BODY_MB:
        raise SettingsError(f"SURVEY_MAX_BODY_MB must be greater than 0 and at most {MAX_BODY_MB}")
    max_text = get("SURVEY_MAX_TEXT_KB")
    if max_text is not None and not (max_text.isdigit() and 1 <= int(max_text) <= MAX_TEXT_KB):
        raise SettingsError(
            f"SURVEY_MAX_TEXT_KB must be a whole number of kilobytes from 1 to {MAX_TEXT_KB}, not {max_text!r}"
        )
    processes = get("SURVEY_INTAKE_PROCESSES")
    if processes is not None and not (processes.isdigit() and int(processes) <= 64):
        raise SettingsError(
            f"SURVEY_INTAKE_PROCESSES must be a whole number from 0 (judge batches in the server process) "
            f"to 64, not {processes!r}"
        )
    ttl = get("SURVEY_EXPORT_TTL_H")
    low, high = EXPORT_TTL_H
    if ttl is not None and not (ttl.isdigit() and low <= int(ttl) <= high):
        raise SettingsError(
            f"SURVEY_EXPORT_TTL_H must be a whole number of hours from {low} to {high}, not {ttl!r}"
        )
    city_schema = get("SURVEY_CITY_SCHEMA") or "survey"
    if len(city_schema.encode()) > 63:
        raise SettingsError("SURVEY_CITY_SCHEMA must be a PostgreSQL name of at most 63 bytes")
    worker = get("SURVEY_WORKER")
    if worker is not None and worker not in ("0", "1"):
        raise SettingsError(
            f"SURVEY_WORKER must be 1 (serve runs a job worker) or 0 (it does not), not {worker!r}"
        )
    max_attachment_mb = _megabytes(
        get("SURVEY_MAX_ATTACHMENT_MB"), "SURVEY_MAX_ATTACHMENT_MB", 16.0, MAX_ATTACHMENT_MB
    )
    max_submission_mb = _megabytes(
        get("SURVEY_MAX_SUBMISSION_MB"), "SURVEY_MAX_SUBMISSION_MB", 100.0, MAX_SUBMISSION_MB
    )
    media_dir = get("SURVEY_MEDIA_DIR")
    public_url = public_url_of(get("SURVEY_PUBLIC_URL"))
    return Settings(
        database_url=normalise_url(get("SURVEY_DATABASE_URL")),
        data_dir=Path(get("SURVEY_DATA_DIR") or ".survey-data"),
        city_database_url=get("SURVEY_CITY_DATABASE_URL"),
        city_schema=city_schema,
        max_body_mb=max_body_mb,
        max_text_kb=int(max_text) if max_text is not None else 64,
        intake_processes=int(processes) if processes is not None else None,
        export_ttl_h=int(ttl) if ttl is not None else 24,
        worker=worker != "0",
        media_dir=Path(media_dir) if media_dir else None,
        max_attachment_mb=max_attachment_mb,
        max_submission_mb=max_submission_mb,
        public_url=public_url,
    )


def public_url_of(value: str | None) -> str | None:
    """SURVEY_PUBLIC_URL without its trailing slash: http(s)://host[:port][/prefix], nothing after."""
    if value is None:
        return None
    parts = urlsplit(value)
    ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not (parts.query or parts.fragment)
    if not ok or len(value) > MAX_PUBLIC_URL or not value.isprintable() or " " in value:
        raise SettingsError(
            f"SURVEY_PUBLIC_URL must be the server's address as users reach it, http:// or https:// then a host"
            f" (and a port or a path prefix), at most {MAX_PUBLIC_URL} characters, not {value[:100]!r}"
        )
    try:
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError as exc:
        raise SettingsError(f"SURVEY_PUBLIC_URL has a port that is not a number: {value[:100]!r}") from exc
    return value.rstrip("/")


def _megabytes(value: str | None, name: str, default: float, highest: float) -> float:
    """A size in megabytes, greater than 0 and at most `highest`."""
    if value is None:
        return default
    try:
        size = float(value)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number of megabytes, not {value!r}") from exc
    if not 0 < size <= highest:
        raise SettingsError(f"{name} must be greater than 0 and at most {highest:g}")
    return size


def normalise_url(url: str | None) -> str | None:
    """Accept plain `postgresql://` URLs as users write them; the app speaks asyncpg."""
    if url is None:
        return None
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url
