"""An export's parameters, from a query string, a job's JSON body or the command line, checked once."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import msgspec

from forms.errors import Problem
from survey_api.errors import Invalid
from survey_api.stores.exports import Filters

Format = Literal["xlsx", "csv", "geojson"]
FORMATS: tuple[Format, ...] = ("xlsx", "csv", "geojson")
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
    "geojson": "application/geo+json",
}
Bad = Callable[[str, str, str], None]
MAX_PARAM = 1000  # characters of any one text parameter


class ExportRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The parameters of API.md's Exports, as text, the way a query string gives them."""

    form: str | None = None
    format: str | None = None
    lang: str | None = None
    labels: str | bool | None = None
    include: str | None = None
    since: str | None = None
    until: str | None = None
    bbox: str | None = None
    area: str | None = None
    geometry: str | None = None
    media: str | bool | None = None


class ExportParams(msgspec.Struct, frozen=True, kw_only=True):
    """Checked parameters: what to read (`filters`) and how to show it."""

    format: Format
    filters: Filters
    lang: str | None = None
    labels: bool = False
    geometry: str | None = None
    area: tuple[str, str] | None = None
    """(layer, code): only records located in that area (its border included)."""
    media: bool = False
    """A zip of the table file(s) and every file the exported records' submissions sent."""


def check(request: ExportRequest, format: str | None = None) -> ExportParams:
    """Every parameter checked; all problems at once in one 422 naming each parameter."""
    problems: list[Problem] = []

    def bad(name: str, code: str, message: str) -> None:
        problems.append(Problem(loc=["query", name], code=code, message=message))

    for name in ExportRequest.__struct_fields__:
        value = getattr(request, name)
        if isinstance(value, str) and (len(value) > MAX_PARAM or "\x00" in value):
            bad(name, "too_long", f"{name} is at most {MAX_PARAM} characters of text")
    chosen = format or request.format
    if chosen not in FORMATS:
        bad("format", "unknown_format", f"format is one of {', '.join(FORMATS)}, not {chosen!r}")
    labels = _boolean(request.labels)
    if labels is None:
        bad("labels", "not_a_boolean", f"labels is true or false, not {request.labels!r}")
    media = _boolean(request.media)
    if media is None:
        bad("media", "not_a_boolean", f"media is true or false, not {request.media!r}")
    if request.include not in (None, "clean", "all"):
        bad("include", "unknown_include", f"include is clean or all, not {request.include!r}")
    since = _instant(request.since, "since", bad)
    until = _instant(request.until, "until", bad)
    if since is not None and until is not None and until <= since:
        bad("until", "empty_window", "until must be after since")
    bbox = _bbox(request.bbox, bad)
    area = None
    if request.area:
        layer, colon, code = request.area.partition(":")
        if colon and layer and code:
            area = (layer, code)
        else:
            bad(
                "area",
                "bad_area",
                f"area is LAYER:CODE (a layer of the project and an area's code), not {request.area!r}",
            )
    if problems:
        raise Invalid("Some export parameters are not valid.", problems)
    return ExportParams(
        format=chosen,  # type: ignore[arg-type]
        filters=Filters(include_all=request.include == "all", since=since, until=until, bbox=bbox),
        lang=request.lang or None,
        labels=bool(labels),
        geometry=request.geometry or None,
        area=area,
        media=bool(media),
    )


def _boolean(value: str | bool | None) -> bool | None:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(value.lower())


def _instant(text: str | None, name: str, bad: Bad) -> datetime | None:
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        bad(name, "bad_datetime", f"{name} is an RFC 3339 date-time or a date, not {text!r}")
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _bbox(text: str | None, bad: Bad) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    ok = len(parts) == 4 and all(math.isfinite(p) for p in parts)
    ok = ok and -180 <= parts[0] <= parts[2] <= 180 and -90 <= parts[1] <= parts[3] <= 90
    if not ok:
        bad(
            "bbox",
            "bad_bbox",
            f"bbox is minlon,minlat,maxlon,maxlat in degrees, min before max, not {text!r}",
        )
        return None
    return parts[0], parts[1], parts[2], parts[3]
