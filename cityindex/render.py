"""An index as its readers get it: one flat row per area (xlsx, csv), polygons with the same properties
(GeoJSON, ready for a choropleth in QGIS), and a sheet explaining each indicator.

Columns per area: `code`, `name` (in the chosen language when the layer gave several), `records`, each
indicator's value (`<key>`) and score (`<key>_score`), each group's sub-index (`group:<group>`),
`index`, `rank`, `coverage_indicators`, `coverage_weight_share`, `rank_low` and `rank_high` (the 5–95%
rank interval over random weights), `rank_equal_weights`, `rank_other_aggregation`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from cityindex.areas import Area
from cityindex.compute import AreaRow, IndexResult
from cityindex.settings import IndexSettings, Indicator
from exports.sheets import Kind, Sheet
from forms.model import label_text

FORMULAS = {
    "count": "records that meet `where`",
    "density_km2": "records that meet `where` / the area's km²",
    "share": "records that meet `where` / all records of the form in the area",
    "mean": "mean of `field` over the records that meet `where`",
    "sum": "sum of `field` over the records that meet `where`",
    "median": "median of `field` over the records that meet `where`",
}


def columns(settings: IndexSettings, groups: Sequence[str]) -> list[tuple[str, Kind]]:
    """The flat columns of an index row, with their kinds."""
    cols: list[tuple[str, Kind]] = [("code", "text"), ("name", "text"), ("records", "integer")]
    for ind in settings.indicators:
        cols += [(ind.key, "decimal"), (f"{ind.key}_score", "decimal")]
    cols += [(f"group:{g}", "decimal") for g in groups]
    cols += [("index", "decimal"), ("rank", "integer"), ("coverage_indicators", "integer")]
    cols += [("coverage_weight_share", "decimal"), ("rank_low", "integer"), ("rank_high", "integer")]
    cols += [("rank_equal_weights", "integer"), ("rank_other_aggregation", "integer")]
    return cols


def flat(
    row: AreaRow, area: Area, settings: IndexSettings, groups: Sequence[str], lang: str | None
) -> dict[str, Any]:
    name = label_text(area.names, lang, None) if area.names else row.name
    out: dict[str, Any] = {"code": row.code, "name": name, "records": row.records}
    for ind in settings.indicators:
        out[ind.key] = row.values.get(ind.key)
        out[f"{ind.key}_score"] = row.scores.get(ind.key)
    out |= {f"group:{g}": row.groups.get(g) for g in groups}
    low, high = row.rank_interval or (None, None)
    out |= {
        "index": row.index,
        "rank": row.rank,
        "coverage_indicators": row.coverage.indicators,
        "coverage_weight_share": row.coverage.weight_share,
        "rank_low": low,
        "rank_high": high,
        "rank_equal_weights": row.rank_equal_weights,
        "rank_other_aggregation": row.rank_other_aggregation,
    }
    return out


def features(
    result: IndexResult, areas: Sequence[Area], settings: IndexSettings, lang: str | None
) -> Iterator[dict[str, Any]]:
    for row, area in zip(result.rows, areas, strict=True):
        properties = flat(row, area, settings, result.groups, lang)
        yield {"type": "Feature", "geometry": area.geometry, "properties": properties}


def table(
    result: IndexResult, areas: Sequence[Area], settings: IndexSettings, lang: str | None
) -> tuple[Sheet, Iterator[list[Any]]]:
    """The index as one sheet and its rows."""
    cols = columns(settings, result.groups)
    sheet = Sheet(name="index", headers=[c for c, _ in cols], kinds=[k for _, k in cols])

    def rows() -> Iterator[list[Any]]:
        for row, area in zip(result.rows, areas, strict=True):
            values = flat(row, area, settings, result.groups, lang)
            yield [values[c] for c, _ in cols]

    return sheet, rows()


EXPLAINED = [
    "key", "label", "label::th", "label::en", "form", "aggregate", "formula", "field", "where",
    "direction", "weight", "group", "normalization", "target", "bounds", "min_records",
]  # fmt: skip


def explanation(settings: IndexSettings, lang: str | None) -> tuple[Sheet, Iterator[list[Any]]]:
    """A sheet explaining each indicator, then the aggregation and the coverage rule."""
    kinds: list[Kind] = ["text"] * len(EXPLAINED)
    kinds[EXPLAINED.index("weight")] = "decimal"
    kinds[EXPLAINED.index("target")] = "decimal"
    kinds[EXPLAINED.index("min_records")] = "integer"
    sheet = Sheet(name="indicators", headers=EXPLAINED, kinds=kinds)

    def rows() -> Iterator[list[Any]]:
        for ind in settings.indicators:
            yield _explained(ind, lang)
        note = (
            f"index: {settings.aggregation} weighted mean of the scores an area has; null when they carry"
            f" less than {settings.min_coverage:.0%} of the weight"
        )
        yield ["(index)", note, *[None] * (len(EXPLAINED) - 2)]

    return sheet, rows()


def _explained(ind: Indicator, lang: str | None) -> list[Any]:
    label = ind.label
    in_lang = (lambda code: label.get(code)) if isinstance(label, dict) else (lambda code: None)
    where = "; ".join(
        f"{path} = {' or '.join([v] if isinstance(v, str) else v)}" for path, v in (ind.where or {}).items()
    )
    return [
        ind.key,
        label_text(label, lang, None),
        in_lang("th"),
        in_lang("en"),
        ind.form,
        ind.aggregate,
        FORMULAS[ind.aggregate],
        ind.field,
        where or None,
        ind.direction,
        ind.weight,
        ind.group,
        ind.normalization,
        ind.target,
        f"{ind.bounds[0]:g} to {ind.bounds[1]:g}" if ind.bounds else None,
        ind.min_records,
    ]
