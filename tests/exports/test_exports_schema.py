"""The column schema across versions and records flattened into it (pure, no database)."""

import datetime as dt

import msgspec
import pytest

from exports.layout import dictionary_rows, schema_of, sheets
from exports.rows import Flattener, Options, Record
from forms.model import FormDefinition

CHOICES = {
    "kinds": [
        {"value": "food", "label": {"en": "Food", "th": "อาหาร"}},
        {"value": "repair", "label": {"en": "Repair"}},
        {"value": "old", "label": {"en": "Old option"}},
    ]
}


def version(name: str, fields: list[dict], choices: dict | None = None) -> FormDefinition:
    return msgspec.convert(
        {
            "key": "shops",
            "version": name,
            "title": {"en": "Shops", "th": "ร้าน"},
            "fields": fields,
            "choices": choices or CHOICES,
            "default_language": "en",
        },
        FormDefinition,
    )


V1 = version(
    "1",
    [
        {"name": "shop_name", "type": "text", "label": {"en": "Shop", "th": "ร้าน"}},
        {"name": "size", "type": "text"},
        {"name": "kind", "type": "select_one", "choices": "kinds"},
        {"name": "where", "type": "geopoint"},
        {"name": "dims", "type": "group", "fields": [{"name": "width", "type": "integer"}]},
        {"name": "legacy", "type": "text"},
        {
            "name": "items",
            "type": "repeat",
            "fields": [
                {"name": "item", "type": "text"},
                {"name": "parts", "type": "repeat", "fields": [{"name": "part", "type": "text"}]},
            ],
        },
    ],
)
V2 = version(
    "2",
    [
        {"name": "name", "type": "text", "label": {"en": "Shop name"}, "renamed_from": "shop_name"},
        {"name": "size", "type": "integer"},
        {"name": "kind", "type": "select_multiple", "choices": "kinds"},
        {"name": "where", "type": "geopoint"},
        {"name": "dims", "type": "group", "fields": [{"name": "width", "type": "decimal"}]},
        {
            "name": "items",
            "type": "repeat",
            "fields": [
                {"name": "item", "type": "text"},
                {"name": "parts", "type": "repeat", "fields": [{"name": "part", "type": "text"}]},
            ],
        },
        {"name": "phone", "type": "text", "sensitive": True},
    ],
    {"kinds": [{"value": "food", "label": {"en": "Food stall"}}, {"value": "repair"}]},
)


@pytest.fixture
def schema():
    return schema_of("shops", [V1, V2])


def paths(schema, table=0):
    return [c.path for c in schema.tables[table].columns]


def test_columns_follow_the_newest_version_then_fields_only_older_versions_had(schema):
    fields = [p for p in paths(schema) if not p.startswith("_")]
    assert fields == [
        "name",
        "size",
        "kind",
        "kind/food",
        "kind/repair",
        "kind/old",
        "where/lat",
        "where/lon",
        "where/alt",
        "where/accuracy",
        "dims/width",
        "phone",
        "legacy",
    ]
    assert [t.path for t in schema.tables] == ["", "items", "items/parts"]
    assert schema.tables[2].parent == "items"
    assert paths(schema, 1)[-1] == "items/item" and paths(schema, 2)[-1] == "items/parts/part"


def test_a_column_takes_the_newest_type_label_and_every_version_it_was_in(schema):
    columns = {c.path: c for c in schema.tables[0].columns}
    assert columns["name"].type == "text" and columns["name"].versions == ("1", "2")
    assert columns["name"].label == {"en": "Shop name"}
    assert columns["size"].type == "integer" and columns["dims/width"].type == "decimal"
    assert columns["kind"].options == {
        "food": {"en": "Food stall"},
        "repair": {"en": "Repair"},
        "old": {"en": "Old option"},
    }
    assert columns["legacy"].versions == ("1",) and columns["phone"].sensitive


def record(version, answers, **leading):
    return Record(leading={"_record_id": "r1", **leading}, version=version, answers=answers)


def rows_of(schema, rec, **options):
    flat = Flattener(schema, Options(**options))
    return [(t, dict(zip(paths(schema, t), row, strict=True))) for t, row in flat.rows(rec)]


def test_an_older_record_fills_the_renamed_column_and_keeps_what_does_not_fit_as_text(schema):
    rec = record(
        "1",
        {
            "shop_name": "ก๋วยเตี๋ยว",
            "size": "12a",
            "kind": "old",
            "dims": {"width": 3},
            "where": {"lat": 14.97, "lon": 102.1, "alt": None, "accuracy": 4.0},
            "legacy": "x",
        },
    )
    [(table, row)] = rows_of(schema, rec)
    assert table == 0
    assert row["name"] == "ก๋วยเตี๋ยว" and row["size"] == "12a" and row["legacy"] == "x"
    assert row["kind"] == "old" and row["kind/old"] == 1 and row["kind/food"] == 0
    assert row["dims/width"] == 3 and row["where/lat"] == 14.97 and row["where/alt"] is None


def test_values_outside_the_lists_and_unknown_versions_never_shift_a_row(schema):
    rec = record("9", {"name": "n", "kind": ["food", "nowhere"], "where": "14.9 102.1", "size": "7"})
    [(_, row)] = rows_of(schema, rec)
    assert len(row) == len(paths(schema))
    assert row["kind"] == "food nowhere" and row["kind/food"] == 1 and row["kind/repair"] == 0
    assert row["where/lat"] == 14.9 and row["where/lon"] == 102.1 and row["where/accuracy"] is None
    assert row["size"] == 7


def test_labels_in_a_language_fall_back_to_the_default_then_to_the_value(schema):
    rec = record("2", {"kind": ["food", "repair", "zzz"]})
    flat = Flattener(schema, Options(labels=True, lang="th"))
    [(_, row)] = list(flat.rows(rec))
    kind = paths(schema).index("kind")
    assert row[kind] == "Food stall Repair zzz"  # v2 relabelled food with no Thai: the default language
    headers = sheets(flat)[0].headers
    assert headers[paths(schema).index("name")] == "Shop name"
    assert headers[paths(schema).index("where/lat")] == "where/lat"  # no label: its name


def test_repeats_become_linked_rows_nested_ones_with_their_parent_path(schema):
    rec = record(
        "2",
        {
            "items": [
                {"item": "a", "parts": [{"part": "p1"}, {"part": "p2"}]},
                {"item": "b"},
            ]
        },
    )
    rows = rows_of(schema, rec)
    items = [r for t, r in rows if t == 1]
    parts = [r for t, r in rows if t == 2]
    assert [(r["_index"], r["_path"], r["items/item"]) for r in items] == [
        (1, "items[1]", "a"),
        (2, "items[2]", "b"),
    ]
    assert [(r["_parent_path"], r["_path"], r["items/parts/part"]) for r in parts] == [
        ("items[1]", "items[1]/parts[1]", "p1"),
        ("items[1]", "items[1]/parts[2]", "p2"),
    ]
    assert all(r["_parent_record_id"] == "r1" for r in items + parts)


def test_sensitive_values_are_withheld_without_pii_and_the_dictionary_says_so(schema):
    rec = record("2", {"phone": "0812345678"})
    assert rows_of(schema, rec)[0][1]["phone"] is None
    assert rows_of(schema, rec, pii=True)[0][1]["phone"] == "0812345678"
    entry = next(r for r in dictionary_rows(schema, Options()) if r[0] == "phone")
    assert entry[-2] is True and "personal" in entry[-1]
    assert next(r for r in dictionary_rows(schema, Options(pii=True)) if r[0] == "phone")[-1] is None


def test_dates_and_times_become_real_values_and_bad_ones_stay_text():
    defn = version(
        "1", [{"name": "d", "type": "date"}, {"name": "t", "type": "datetime"}, {"name": "h", "type": "time"}]
    )
    schema = schema_of("shops", [defn])
    rec = record("1", {"d": "2026-03-01", "t": "2026-03-01T02:00:00+00:00", "h": "not a time"})
    [(_, row)] = rows_of(schema, rec)
    assert row["d"] == dt.date(2026, 3, 1)
    assert row["t"] == dt.datetime(2026, 3, 1, 2, tzinfo=dt.UTC)
    assert row["h"] == "not a time"
