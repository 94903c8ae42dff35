"""GeoJSON (RFC 7946): a FeatureCollection streamed feature by feature, `[lon, lat]`, typed properties.

Properties are the main table's columns (a select_multiple as a list instead of one 1/0 column per
option), repeats as lists of objects under the repeat's path (nested ones inside their entry).
Records without a location are features with `"geometry": null`, never dropped. The geometry is the
record's location, or with `geometry=PATH` a geopoint, geotrace (LineString) or geoshape (Polygon).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from exports.rows import Flattener, Options, Record
from exports.schema import Schema

CHUNK = 64 * 1024
TEMPORAL = frozenset({"date", "datetime", "time"})
"""Column types whose cells may be date, datetime or time values (leading columns' own types included)."""
GEOMETRY_FIELDS = frozenset({"geopoint", "start-geopoint", "geotrace", "geoshape"})

_encoder = msgspec.json.Encoder()


class GeometryError(ValueError):
    """`geometry=PATH` names no geopoint, geotrace or geoshape field of the form."""


class Features:
    """Records as GeoJSON features of one form."""

    def __init__(self, schema: Schema, options: Options, tz: ZoneInfo, geometry: str | None = None) -> None:
        self.flattener = Flattener(schema, options, lists=True)
        self.tz = tz
        if geometry is not None:
            column = schema.fields.get(geometry)
            if column is None or column.type not in GEOMETRY_FIELDS:
                fields = sorted(p for p, c in schema.fields.items() if c.type in GEOMETRY_FIELDS)
                raise GeometryError(
                    f"geometry must name a geopoint, geotrace or geoshape field of this form "
                    f"({', '.join(fields) or 'it has none'}), not {geometry!r}"
                )
        self.geometry = geometry
        self.tables = schema.tables
        # per table: the property names a feature shows (a select_multiple's 1/0 option columns are its
        # list instead), where they sit in a row (None: all of it), and which hold dates or times
        self.layout: list[tuple[list[str], list[int] | None, list[str]]] = []
        for table in self.tables:
            shown = [
                (i, c)
                for i, c in enumerate(table.columns)
                if not (c.part is not None and c.type == "select_multiple")
            ]
            positions = None if len(shown) == len(table.columns) else [i for i, _ in shown]
            temporal = [c.path for _, c in shown if c.type in TEMPORAL]
            self.layout.append(([c.path for _, c in shown], positions, temporal))

    def feature(self, record: Record) -> dict[str, Any]:
        objects: dict[str, dict[str, Any]] = {}
        properties: dict[str, Any] = {}
        for table_index, row in self.flattener.rows(record):
            paths, positions, temporal = self.layout[table_index]
            item = dict(zip(paths, row if positions is None else [row[i] for i in positions], strict=True))
            for path in temporal:  # dates and times as RFC 3339 text, datetimes in the project's zone
                value = item[path]
                if isinstance(value, dt.datetime):
                    item[path] = value.astimezone(self.tz).isoformat()
                elif isinstance(value, dt.date | dt.time):
                    item[path] = value.isoformat()
            if table_index == 0:
                properties = item
                continue
            objects[item["_path"]] = item
            parent = objects.get(item["_parent_path"]) if item["_parent_path"] else properties
            if parent is not None:
                parent.setdefault(self.tables[table_index].path, []).append(item)
        for table in self.tables[1:]:  # a repeat with no entries is an empty list, not a missing key
            if table.parent == "":
                properties.setdefault(table.path, [])
        return {"type": "Feature", "geometry": self._geometry(record), "properties": properties}

    def _geometry(self, record: Record) -> dict[str, Any] | None:
        if self.geometry is None:
            lat, lon = record.leading.get("_lat"), record.leading.get("_lon")
            return None if lat is None or lon is None else {"type": "Point", "coordinates": [lon, lat]}
        values, _ = self.flattener.scope(record)
        return shape(self.flattener.schema.fields[self.geometry].type, values.get(self.geometry))


def shape(kind: str, value: Any) -> dict[str, Any] | None:
    """A geopoint, geotrace or geoshape answer as a GeoJSON geometry, or None when it cannot be one."""
    points = _points(value)
    if not points:
        return None
    if kind in ("geopoint", "start-geopoint"):
        return {"type": "Point", "coordinates": points[0]}
    if kind == "geotrace":
        return {"type": "LineString", "coordinates": points} if len(points) >= 2 else None
    if points[0] != points[-1]:
        points.append(points[0])
    return {"type": "Polygon", "coordinates": [points]} if len(points) >= 4 else None


def _points(value: Any) -> list[list[float]]:
    items = value if isinstance(value, list) else [value]
    points = []
    for item in items:
        if isinstance(item, dict):
            lat, lon = item.get("lat"), item.get("lon")
            if isinstance(lat, int | float) and isinstance(lon, int | float):
                points.append([float(lon), float(lat)])
    return points


def write(features: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """The collection as bytes chunks of about 64 KiB."""
    buffer = bytearray(b'{"type":"FeatureCollection","features":[\n')
    first = True
    for feature in features:
        if not first:
            buffer += b",\n"
        first = False
        buffer += _encoder.encode(feature)
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    buffer += b"\n]}\n"
    yield bytes(buffer)
