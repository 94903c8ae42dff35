"""Area layers: checked, repaired within 0.1%, measured in km² on the ellipsoid (pure)."""

import pytest
import shapely

from cityindex import areas
from cityindex.areas import LayerError, read_layer
from cityindex.projection import area_km2
from tests.cityindex.geo import LAT0, LON0, SIDE, cell_km2, collection, district, feature, ring


def test_a_one_degree_cell_at_the_equator_has_its_ellipsoidal_area():
    # 12,364 km² is the figure on a sphere of radius 6,371 km; on WGS 84 the cell is 12,308.5 km².
    expected = cell_km2(0, 0, 1, 1)
    assert expected == pytest.approx(12_308.5, abs=0.5)
    assert area_km2(shapely.box(0, 0, 1, 1)) == pytest.approx(expected, rel=1e-9)


def test_a_korat_district_of_a_hundredth_of_a_degree_has_its_area():
    box = shapely.box(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)
    expected = cell_km2(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)
    assert expected == pytest.approx(1.19017, abs=1e-5)
    assert area_km2(box) == pytest.approx(expected, rel=1e-9)
    # Half of it along the diagonal is half of it, to the precision of a straight edge.
    triangle = shapely.Polygon([(LON0, LAT0), (LON0 + SIDE, LAT0), (LON0 + SIDE, LAT0 + SIDE)])
    assert area_km2(triangle) == pytest.approx(expected / 2, rel=1e-6)


def test_a_layer_is_read_with_codes_names_areas_and_holes():
    hole = ring(LON0 + 0.0025, LAT0 + 0.0025, LON0 + 0.0075, LAT0 + 0.0075)
    outer = ring(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)
    layer = read_layer(
        collection(
            feature("nai-mueang", [outer, hole], name={"th": "ในเมือง", "en": "Nai Mueang"}),
            district(1, "pho-klang", name="Pho Klang"),
            feature(30_101, [[ring(LON0, LAT0 + 0.02, LON0 + SIDE, LAT0 + 0.03)]], kind="MultiPolygon"),
        )
    )
    assert layer.warnings == []
    first, second, third = layer.areas
    assert (first.code, first.name, first.names) == (
        "nai-mueang",
        "ในเมือง",
        {"th": "ในเมือง", "en": "Nai Mueang"},
    )
    assert (second.code, second.name, second.names) == ("pho-klang", "Pho Klang", None)
    assert (third.code, third.name) == ("30101", None)
    full = cell_km2(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)
    assert first.area_km2 == pytest.approx(0.75 * full, rel=1e-6)
    assert second.area_km2 == pytest.approx(
        cell_km2(LON0 + SIDE, LAT0, LON0 + 2 * SIDE, LAT0 + SIDE), rel=1e-9
    )
    assert first.geometry["type"] == "MultiPolygon"
    assert first.geometry["coordinates"][0][1] == hole


SLIVER = [  # a square whose last corner crosses its first edge: a bow-tie with a tiny lobe
    [LON0 + SIDE, LAT0],
    [LON0 + SIDE, LAT0 + SIDE],
    [LON0, LAT0 + SIDE],
    [LON0 + 0.00001, LAT0 - 0.00001],
    [LON0, LAT0],
    [LON0 + SIDE, LAT0],
]
SELF_TOUCHING = [  # a ring touching itself at one point: an inverted hole
    [LON0, LAT0],
    [LON0 + 0.02, LAT0],
    [LON0 + 0.02, LAT0 + 0.02],
    [LON0 + 0.01, LAT0 + 0.02],
    [LON0 + 0.015, LAT0 + 0.01],
    [LON0 + 0.005, LAT0 + 0.01],
    [LON0 + 0.01, LAT0 + 0.02],
    [LON0, LAT0 + 0.02],
    [LON0, LAT0],
]


def test_what_a_repair_barely_changes_is_repaired_and_reported():
    layer = read_layer(collection(district(0, "A"), feature("B", [SLIVER]), feature("C", [SELF_TOUCHING])))
    assert [a.code for a in layer.areas] == ["A", "B", "C"]
    assert [(w.loc, w.code) for w in layer.warnings] == [
        (["features", 1, "geometry"], "repaired_geometry"),
        (["features", 2, "geometry"], "repaired_geometry"),
    ]
    assert "feature 1 ('B')" in layer.warnings[0].message
    repaired = shapely.geometry.shape(layer.areas[1].geometry)
    assert repaired.is_valid and len(repaired.geoms) == 2
    assert layer.areas[1].area_km2 == pytest.approx(cell_km2(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE), rel=1e-3)
    inverted = shapely.geometry.shape(layer.areas[2].geometry)
    assert inverted.is_valid and len(inverted.geoms[0].interiors) == 1


def test_every_bad_feature_is_named_by_index_and_code_at_once():
    bow_tie = [
        [LON0, LAT0],
        [LON0 + SIDE, LAT0 + SIDE],
        [LON0 + SIDE, LAT0],
        [LON0, LAT0 + SIDE],
        [LON0, LAT0],
    ]
    unclosed = [*ring(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)[:-1], [LON0, LAT0 + 0.001]]
    far = ring(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)
    far[2] = [190.0, LAT0 + SIDE]
    line = {
        "type": "Feature",
        "properties": {"code": "F"},
        "geometry": {"type": "LineString", "coordinates": far[:2]},
    }
    collection_ = collection(
        district(0, "A"),
        feature("B", [bow_tie]),
        feature("C", [unclosed]),
        feature("D", [far]),
        district(1, "A"),
        line,
        district(2, ""),
        feature("H", [[[LON0, LAT0], [LON0, "14.98"], [LON0 + SIDE, LAT0], [LON0, LAT0]]]),
    )
    with pytest.raises(LayerError) as caught:
        read_layer(collection_)
    found = [(p.loc, p.code) for p in caught.value.problems]
    assert found == [
        (["features", 1, "geometry"], "invalid_geometry"),
        (["features", 2, "geometry", "coordinates", 0], "unclosed_ring"),
        (["features", 3, "geometry", "coordinates", 0, 2], "coordinate_out_of_range"),
        (["features", 4, "properties", "code"], "duplicate_code"),
        (["features", 5, "geometry", "type"], "wrong_geometry_type"),
        (["features", 6, "properties", "code"], "missing_code"),
        (["features", 7, "geometry", "coordinates", 0, 1], "malformed_coordinates"),
    ]
    messages = [p.message for p in caught.value.problems]
    assert messages[0].startswith("feature 1 ('B'): ")
    assert "feature 0" in messages[3] and "'A'" in messages[3]
    assert "LineString" in messages[4]


@pytest.mark.parametrize(
    ("geometry", "code"),
    [
        ({"type": "Polygon", "coordinates": []}, "empty_geometry"),
        (
            {"type": "Polygon", "coordinates": [[[LON0, LAT0], [LON0 + 1, LAT0], [LON0, LAT0]]]},
            "too_few_positions",
        ),
        ({"type": "Polygon", "coordinates": [[[LON0, LAT0]] * 4]}, "not_polygonal"),
        (
            {"type": "Polygon", "coordinates": [[[LON0, float("nan")], [1, 1], [2, 2], [LON0, LAT0]]]},
            "malformed_coordinates",
        ),
        (
            {"type": "Polygon", "coordinates": [[[[LON0, LAT0]]] * 4]},
            "malformed_coordinates",
        ),  # nested too deep
        (None, "missing_geometry"),
    ],
)
def test_geometries_without_an_area_are_refused(geometry, code):
    bad = {"type": "Feature", "properties": {"code": "X"}, "geometry": geometry}
    with pytest.raises(LayerError) as caught:
        read_layer(collection(district(0, "A"), bad))
    assert [(p.loc[:2], p.code) for p in caught.value.problems] == [(["features", 1], code)]


def test_the_layer_itself_must_be_a_feature_collection_of_bounded_size(monkeypatch):
    for raw in ([], {"type": "Feature"}, {"type": "FeatureCollection", "features": []}):
        with pytest.raises(LayerError):
            read_layer(raw)
    with pytest.raises(LayerError) as caught:
        read_layer(collection(*[None] * (areas.MAX_FEATURES + 1)))
    assert [p.code for p in caught.value.problems] == ["too_many_features"]
    monkeypatch.setattr(areas, "MAX_VERTICES", 12)
    with pytest.raises(LayerError) as caught:
        read_layer(collection(district(0, "A"), district(1, "B"), district(2, "C"), district(3, "D")))
    assert [(p.loc, p.code) for p in caught.value.problems] == [
        (["features", 2, "geometry", "coordinates", 0], "too_many_vertices"),
        (["features"], "too_many_vertices"),
    ]


def test_codes_and_names_are_checked_text():
    with pytest.raises(LayerError) as caught:
        read_layer(
            collection(
                district(0, "x" * 256),
                district(1, "a\nb"),
                district(2, "ok", name=["list"]),
                district(3, "ok2", name={"th": "ชื่อ\x00"}),
                district(4, True),
            )
        )
    assert [(p.loc, p.code) for p in caught.value.problems] == [
        (["features", 0, "properties", "code"], "invalid_code"),
        (["features", 1, "properties", "code"], "invalid_code"),
        (["features", 2, "properties", "name"], "invalid_name"),
        (["features", 3, "properties", "name", "th"], "invalid_name"),
        (["features", 4, "properties", "code"], "missing_code"),
    ]


def test_altitudes_are_dropped_and_a_multipolygon_names_its_bad_polygon():
    with_altitude = [[*position, 212.5] for position in ring(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)]
    layer = read_layer(collection(feature("A", [with_altitude])))
    assert layer.areas[0].geometry["coordinates"] == [[ring(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)]]
    good = [ring(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)]
    open_ring = [[*ring(LON0, LAT0 + 0.02, LON0 + SIDE, LAT0 + 0.03)[:-1], [LON0, LAT0 + 0.025]]]
    far = ring(LON0, LAT0, LON0 + SIDE, LAT0 + SIDE)
    far[1] = [LON0, 91.0]
    with pytest.raises(LayerError) as caught:
        read_layer(collection(feature("M", [good, open_ring, [far]], kind="MultiPolygon")))
    assert [(p.loc, p.code) for p in caught.value.problems] == [
        (
            ["features", 0, "geometry", "coordinates", 1, 0],
            "unclosed_ring",
        )  # the first problem of the feature
    ]
