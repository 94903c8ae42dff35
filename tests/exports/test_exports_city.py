"""The city tables of a form: names that fit PostgreSQL and stay, types that only widen, comments."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import shapely

from exports import city, city_values
from exports.layout import schema_of
from forms.model import load_definition


def form(version: str, fields: list[dict], key: str = "shops") -> dict:
    return {"key": key, "version": version, "title": {"th": "ร้านค้า", "en": "Shops"}, "fields": fields}


V1 = form(
    "1",
    [
        {"name": "location", "type": "geopoint"},
        {"name": "shop_name", "type": "text", "label": {"en": "Shop", "th": "ร้าน"}},
        {"name": "size", "type": "integer"},
        {"name": "kinds", "type": "select_multiple", "choices": "k"},
        {"name": "phone", "type": "text", "sensitive": True},
        {"name": "trees", "type": "repeat", "fields": [{"name": "girth", "type": "integer"}]},
    ],
) | {"choices": {"k": [{"value": "food"}, {"value": "repair"}]}}


def v2() -> dict:
    fields = [dict(f) for f in V1["fields"]]
    fields[1] = {"name": "name", "type": "text", "renamed_from": "shop_name"}
    fields[2] = {"name": "size", "type": "decimal"}
    fields.append({"name": "opened", "type": "date"})
    return V1 | {"version": "2", "fields": fields}


def layout(*forms: dict, previous: city.Names | None = None, **kw) -> city.Layout:
    definitions = [load_definition(f) for f in forms]
    return city.plan("korat", schema_of(forms[-1]["key"], definitions), definitions, previous, **kw)


def columns(table: city.CityTable) -> dict[str, tuple[str, str]]:
    return {c.path: (c.name, c.type) for c in table.columns}


def test_a_form_is_a_typed_table_and_a_repeat_a_child_table_keyed_to_it():
    main, trees = layout(V1).tables
    assert main.name == "korat__shops" and main.parent is None
    cols = columns(main)
    assert cols["_record_id"] == ("record_id", "uuid")
    assert cols["_lat"] == ("lat", "double precision") and cols["_lon"] == ("lon", "double precision")
    assert cols["_created_at"] == ("_created_at", "timestamp with time zone")
    assert cols["location/lat"] == ("location__lat", "double precision")
    assert cols["size"] == ("size", "bigint")
    assert cols["kinds"] == ("kinds", "text[]") and cols["kinds/food"] == ("kinds__food", "boolean")
    assert trees.name == "korat__shops__trees" and trees.parent == "korat__shops"
    assert [c.name for c in trees.columns[:5]] == [
        "_key",
        "_parent_record_id",
        "_parent_path",
        "_index",
        "_path",
    ]
    assert columns(trees)["_parent_record_id"][1] == "uuid"
    assert main.comment.startswith("th: ร้านค้า | en: Shops")
    shop = next(c for c in main.columns if c.path == "shop_name")
    assert shop.comment == "th: ร้าน | en: Shop"
    phone = next(c for c in main.columns if c.path == "phone")
    assert "personal data" in phone.comment


def test_a_new_version_keeps_every_name_widens_types_and_adds_columns():
    first = layout(V1)
    second = layout(V1, v2(), previous=first.names)
    cols = columns(second.tables[0])
    assert cols["name"] == ("shop_name", "text")  # the renamed field keeps its column
    assert cols["size"] == ("size", "double precision")  # integer -> decimal
    assert cols["opened"] == ("opened", "date")
    assert second.fingerprint != first.fingerprint
    assert layout(V1, v2(), previous=second.names).fingerprint == second.fingerprint
    text_again = v2() | {"version": "3"}
    text_again["fields"] = [
        *text_again["fields"][:2],
        {"name": "size", "type": "text"},
        *text_again["fields"][3:],
    ]
    assert columns(layout(V1, v2(), text_again).tables[0])["size"][1] == "text"


def test_widening_never_narrows():
    assert city.widen("bigint", "double precision") == "double precision"
    assert city.widen("double precision", "bigint") == "double precision"
    assert city.widen("text", "bigint") == "text"
    assert city.widen("date", "timestamp with time zone") == "text"
    assert city.widen("text[]", "text[]") == "text[]"


def test_long_names_fit_in_63_bytes_and_stay_unique():
    long = "ชื่อ" * 20  # 240 bytes of Thai
    fields = [{"name": long + "a", "type": "text"}, {"name": long + "b", "type": "text"}]
    main = layout(form("1", fields, key="k" * 70)).tables[0]
    names = [c.name for c in main.columns]
    assert all(len(n.encode()) <= 63 for n in [*names, main.name])
    assert len(set(names)) == len(names)
    assert layout(form("1", fields, key="k" * 70)).tables[0].name == main.name  # stable


def test_a_field_named_like_a_leading_column_gets_a_name_of_its_own():
    main = layout(
        form("1", [{"name": "lat", "type": "decimal"}, {"name": "geom", "type": "text"}]), postgis=True
    )
    names = [c.name for c in main.tables[0].columns]
    assert len(set(names)) == len(names) and "geom" not in names


def test_submitter_and_sensitive_fields_are_withheld_unless_pii():
    plain = layout(V1)
    assert plain.schema.tables[0].columns[6].path == "_submitted_by"
    assert plain.schema.tables[0].columns[6].sensitive
    assert layout(V1, pii=True).fingerprint != plain.fingerprint


def test_values_take_their_columns_type_or_misfit():
    rid = uuid.uuid4()
    assert city_values.value(str(rid), "uuid") == rid
    assert city_values.value(7, "double precision") == 7.0
    assert city_values.value(7.0, "bigint") == 7
    assert city_values.value(["a", "b"], "text") == "a b"
    assert city_values.value(dt.date(2026, 1, 2), "text") == "2026-01-02"
    assert city_values.value(1, "boolean") is True
    for cell, kind in [
        ("12a", "bigint"),
        (True, "bigint"),
        (dt.datetime(2026, 1, 1), "date"),
        ("x", "text[]"),
    ]:
        with pytest.raises(city_values.Misfit):
            city_values.value(cell, kind)
    trees = layout(V1).tables[1]
    kinds = [c.type for c in trees.columns]
    assert city_values.row(trees, [str(rid), None, 1, "trees[1]", 95], kinds) == (
        f"{rid}/trees[1]",
        rid,
        None,
        1,
        "trees[1]",
        95,
    )
    with pytest.raises(city_values.Misfit) as caught:
        city_values.row(trees, [str(rid), None, 1, "trees[1]", "big"], kinds)
    assert caught.value.column == 5


def test_lines_and_shapes_are_geometries_with_postgis_and_text_without():
    fields = [{"name": "route", "type": "geotrace"}, {"name": "plot", "type": "geoshape"}]
    gis = columns(layout(form("1", fields), postgis=True).tables[0])
    assert gis["route"][1] == "geometry(LineString,4326)" and gis["plot"][1] == "geometry(Polygon,4326)"
    assert columns(layout(form("1", fields)).tables[0])["route"][1] == "text"
    line = city_values.value("14.97 102.1 0 0;14.98 102.11 0 0", city.LINESTRING)
    assert shapely.from_wkb(line).equals(shapely.LineString([(102.1, 14.97), (102.11, 14.98)]))
    assert shapely.get_srid(shapely.from_wkb(line)) == 4326
    shape = city_values.value("14.97 102.1 0 0;14.98 102.1 0 0;14.98 102.11 0 0", city.POLYGON)
    assert shapely.from_wkb(shape).is_valid  # closed for us
    for cell, kind in [
        ("14.97 102.1 0 0", city.LINESTRING),
        ("a b;c d", city.LINESTRING),
        ("1 2;3 4", city.POLYGON),
    ]:
        with pytest.raises(city_values.Misfit):
            city_values.value(cell, kind)
