"""An index run as the file a reader asked for: JSON, GeoJSON, xlsx or csv (the exports' writers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from cityindex import render
from exports import csvs, geojson, xlsx
from survey_api.indexing.run import Run

FORMATS = ("json", "geojson", "xlsx", "csv")
MEDIA_TYPES = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def document(run: Run, lang: str | None) -> dict[str, Any]:
    """The JSON answer: settings, notes and one row per area (with its name in `lang`)."""
    result = run.result
    rows = [
        msgspec.to_builtins(row) | {"name": render.flat(row, area, run.settings, result.groups, lang)["name"]}
        for row, area in zip(result.rows, run.areas, strict=True)
    ]
    return {
        "layer": run.layer,
        "aggregation": run.settings.aggregation,
        "min_coverage": run.settings.min_coverage,
        "indicators": msgspec.to_builtins(run.settings.indicators),
        "groups": result.groups,
        "ranked": result.ranked,
        "notes": result.notes,
        "rows": rows,
    }


def chunks(run: Run, format: str, lang: str | None, tz: ZoneInfo) -> Iterator[bytes]:
    """The file's bytes (pure: run it in a worker thread for a large layer)."""
    if format == "json":
        yield msgspec.json.encode(document(run, lang))
    elif format == "geojson":
        yield from geojson.write(render.features(run.result, run.areas, run.settings, lang))
    elif format == "csv":
        sheet, rows = render.table(run.result, run.areas, run.settings, lang)
        yield from csvs.write([sheet], ((0, row) for row in rows), tz)
    else:
        sheet, rows = render.table(run.result, run.areas, run.settings, lang)
        explained, explanations = render.explanation(run.settings, lang)

        def both() -> Iterator[tuple[int, list[Any]]]:
            yield from ((0, row) for row in rows)
            yield from ((1, row) for row in explanations)

        yield from xlsx.write([sheet, explained], both(), tz)
