"""A layer of areas (districts, blocks) read from GeoJSON, checked, repaired and measured.

`properties.code` is text of 1 to 255 characters without control characters (a whole number, as
official layers often have, becomes its text), unique in the layer. `properties.name` may be text or
a {language: text} map (`{"th": "...", "en": "..."}`): `Area.name` is then the map's first text and
`Area.names` the whole map, for labels in the reader's language. Limits: MAX_FEATURES features,
MAX_VERTICES positions in all; polygons crossing the antimeridian must be split (RFC 7946).
"""

import unicodedata
from typing import Any

import msgspec

from cityindex import shapes
from cityindex.errors import CityIndexError, summary
from cityindex.locator import Locator
from forms.errors import Problem

MAX_FEATURES = 50_000
MAX_VERTICES = 5_000_000
MAX_TEXT = 255

__all__ = ["MAX_FEATURES", "MAX_VERTICES", "Area", "Layer", "LayerError", "Locator", "read_layer"]


class Area(msgspec.Struct, frozen=True):
    code: str
    name: str | None
    geometry: dict
    """A GeoJSON MultiPolygon, valid (repaired if it needed it), 2D; a ring given as plain
    [lon, lat] pairs is the input's own list, not a copy."""
    area_km2: float
    """Ellipsoidal area (WGS 84) through an equal-area projection: see `cityindex.projection`."""
    names: dict[str, str] | None = None
    """The name in each language when the layer gave a {language: text} map."""


class Layer(msgspec.Struct):
    areas: list[Area]
    warnings: list[Problem]
    """Geometries repaired within the 0.1% area tolerance, located like the errors."""


class LayerError(CityIndexError):
    """A layer that cannot be used; `problems` name every bad feature by index and code."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(summary(problems, "invalid area layer"), problems)


def read_layer(collection: Any) -> Layer:
    """Every area of a JSON-decoded FeatureCollection, or a LayerError listing all that is wrong."""
    features = _features(collection)
    problems: list[Problem] = []
    labels: list[tuple[str, str | None, dict[str, str] | None, str]] = []
    parsed: list[shapes.Shape] = []
    first_of: dict[str, int] = {}
    budget = shapes.Budget(MAX_VERTICES)
    for i, feature in enumerate(features):
        loc: list[str | int] = ["features", i]
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(Problem(loc=loc, code="not_a_feature", message=f"feature {i} is not a Feature"))
            continue
        properties = feature.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        code, name, names, found = _labels(properties, [*loc, "properties"], i)
        problems += found
        who = f"feature {i} ({code!r})" if code else f"feature {i}"
        if code and code in first_of:
            message = f"{who}: code {code!r} is already feature {first_of[code]}'s"
            problems.append(Problem(loc=[*loc, "properties", "code"], code="duplicate_code", message=message))
        elif code:
            first_of[code] = i
        try:
            parsed.append(shapes.parse(feature.get("geometry"), [*loc, "geometry"], budget))
        except shapes.Bad as bad:
            problems.append(Problem(loc=bad.loc, code=bad.code, message=f"{who}: {bad.message}"))
            if bad.code == "too_many_vertices":
                message = f"at most {MAX_VERTICES:,} vertices in a layer; simplify the polygons"
                problems.append(Problem(loc=["features"], code="too_many_vertices", message=message))
                break
            continue
        labels.append((code or "", name, names, who))
    areas: list[Area] = []
    warnings: list[Problem] = []
    for (code, name, names, who), result in zip(labels, shapes.measure(parsed), strict=True):
        if isinstance(result, shapes.Bad):
            problems.append(Problem(loc=result.loc, code=result.code, message=f"{who}: {result.message}"))
            continue
        if result.warning is not None:
            warnings.append(
                msgspec.structs.replace(result.warning, message=f"{who}: {result.warning.message}")
            )
        areas.append(
            Area(code=code, name=name, geometry=result.geometry, area_km2=result.area_km2, names=names)
        )
    if problems:
        problems.sort(
            key=lambda p: p.loc[1] if len(p.loc) > 1 and isinstance(p.loc[1], int) else len(features)
        )
        raise LayerError(problems)
    return Layer(areas=areas, warnings=warnings)


def _features(collection: Any) -> list[Any]:
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        message = "an area layer must be a GeoJSON FeatureCollection"
        raise LayerError([Problem(loc=["type"], code="not_a_feature_collection", message=message)])
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        message = "a FeatureCollection needs a non-empty list of features"
        raise LayerError([Problem(loc=["features"], code="no_features", message=message)])
    if len(features) > MAX_FEATURES:
        message = f"{len(features):,} features; a layer has at most {MAX_FEATURES:,}"
        raise LayerError([Problem(loc=["features"], code="too_many_features", message=message)])
    return features


def _labels(
    properties: dict, loc: list[str | int], i: int
) -> tuple[str | None, str | None, dict[str, str] | None, list[Problem]]:
    """properties.code and properties.name, checked: (code, name, names, problems)."""
    problems = []
    code = properties.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)  # a numeric district code is common in official layers
    if not isinstance(code, str) or not code.strip():
        message = f"feature {i} has no properties.code (unique, non-empty text)"
        problems.append(Problem(loc=[*loc, "code"], code="missing_code", message=message))
        code = None
    elif (why := _bad_text(code)) is not None:
        problems.append(Problem(loc=[*loc, "code"], code="invalid_code", message=f"feature {i}: code {why}"))
        code = None
    raw = properties.get("name")
    name, names = None, None
    if isinstance(raw, str):
        name = raw
    elif (
        isinstance(raw, dict)
        and raw
        and all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items())
    ):
        names = raw
        name = next(iter(raw.values()))
    elif raw is not None:
        message = f"feature {i}: name must be text or a {{language: text}} map"
        problems.append(Problem(loc=[*loc, "name"], code="invalid_name", message=message))
    for lang, text in (names or ({"": name} if name is not None else {})).items():
        why = _bad_text(lang) if lang else None
        why = why or _bad_text(text, empty_ok=True)
        if why is not None:
            where = [*loc, "name", lang] if lang else [*loc, "name"]
            problems.append(Problem(loc=where, code="invalid_name", message=f"feature {i}: name {why}"))
    return code, name, names, problems


def _bad_text(text: str, *, empty_ok: bool = False) -> str | None:
    if not text and not empty_ok:
        return "is empty"
    if len(text) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    if any(unicodedata.category(c) == "Cc" for c in text):
        return "contains a control character"
    return None
