"""Exports over HTTP, read back by real readers: openpyxl, the csv module and zipfile, GDAL's ogrinfo."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import subprocess
import zipfile
from typing import Any

import openpyxl
import pytest

from tests.factories import SYNC, batch, submission
from tests.tools import need

BASE = "/api/v1/projects/korat/forms/shops"
LONG = "ก" * 10_000 + "a" * 30_000  # 40,000 characters, under the 64 kB text limit
TRICKY = 'ร้าน\u200bก๋วยเตี๋ยว\n"เจ๊หมวย", ซอย 3'

V1 = {
    "key": "shops",
    "version": "1",
    "title": {"en": "Shops", "th": "ร้านค้า"},
    "default_language": "en",
    "fields": [
        {"name": "location", "type": "geopoint"},
        {"name": "shop_name", "type": "text", "label": {"en": "Shop", "th": "ร้าน"}},
        {"name": "size", "type": "text"},
        {"name": "kind", "type": "select_one", "choices": "kinds"},
        {"name": "owner_phone", "type": "text", "sensitive": True},
        {"name": "notes", "type": "text"},
        {
            "name": "visit",
            "type": "group",
            "fields": [
                {
                    "name": "staff",
                    "type": "repeat",
                    "fields": [
                        {"name": "who", "type": "text"},
                        {
                            "name": "shifts",
                            "type": "repeat",
                            "fields": [{"name": "hours", "type": "integer"}],
                        },
                    ],
                }
            ],
        },
    ],
    "choices": {"kinds": [{"value": "food", "label": {"en": "Food", "th": "อาหาร"}}, {"value": "old"}]},
}


def v2() -> dict[str, Any]:
    form = json.loads(json.dumps(V1))
    form["version"] = "2"
    fields = form["fields"]
    fields[1] = {
        "name": "name",
        "type": "text",
        "label": {"en": "Shop name", "th": "ชื่อร้าน"},
        "renamed_from": "shop_name",
    }
    fields[2] = {"name": "size", "type": "integer"}
    fields[3] = {"name": "kind", "type": "select_multiple", "choices": "kinds"}
    form["choices"] = {
        "kinds": [{"value": "food", "label": {"en": "Food", "th": "อาหาร"}}, {"value": "repair"}]
    }
    return form


def v3() -> dict[str, Any]:
    form = v2()
    form["version"] = "3"
    form["fields"][2] = {"name": "size", "type": "decimal"}  # integer -> decimal
    return form


@pytest.fixture
async def shops(client, member):
    """A coordinator with pii, an analyst without; `shops` v1 then v2, with records of both."""
    coordinator = await member("coordinator", pii=True)
    analyst = await member("analyst")
    for form in (V1, v2(), v3()):
        created = await client.post("/api/v1/projects/korat/forms", json=form, headers=coordinator.headers)
        assert created.status_code == 201, created.text
        published = await client.post(
            f"{BASE}/versions/{form['version']}/publish", headers=coordinator.headers
        )
        assert published.status_code == 200, published.text
    point = {"lat": 14.97, "lon": 102.1, "accuracy": 5.0}
    items = [
        submission(
            "shops",
            {
                "location": point,
                "shop_name": TRICKY,
                "size": "12a",
                "kind": "old",
                "owner_phone": "0812345678",
                "notes": LONG,
            },
            version="1",
        ),
        submission(
            "shops",
            {
                "location": {"lat": 14.98, "lon": 102.11},
                "name": "ร้านซ่อม",
                "size": "7",
                "kind": ["food", "repair", "nowhere"],
                "visit": {"staff": [{"who": "A", "shifts": [{"hours": 4}, {"hours": 5}]}, {"who": "B"}]},
            },
            version="2",
        ),
        submission("shops", {"name": "no place"}, version="2"),
        submission("shops", {"name": "v3 shop", "size": 7.5, "location": point}, version="3"),
    ]
    pushed = await client.post(SYNC, json=batch(*items), headers=coordinator.headers)
    assert pushed.status_code == 200, pushed.text
    assert [r["status"] for r in pushed.json()["results"]] == ["accepted"] * 4, pushed.text
    return coordinator, analyst, [i["uuid"] for i in items]


async def download(client, who, fmt: str, **params: str) -> bytes:
    response = await client.get(f"{BASE}/export.{fmt}", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    return response.content


async def test_xlsx_has_one_schema_over_both_versions_typed_cells_and_linked_repeat_sheets(client, shops):
    coordinator, _, _ = shops
    book = openpyxl.load_workbook(io.BytesIO(await download(client, coordinator, "xlsx")))
    assert book.sheetnames == ["shops", "staff", "shifts", "_dictionary"]
    main = book["shops"]
    rows = list(main.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:10] == [
        "_record_id",
        "_revision",
        "_status",
        "_version",
        "_created_at",
        "_updated_at",
        "_submitted_by",
        "_lat",
        "_lon",
        "_accuracy",
    ]
    assert header[10:] == [
        "location/lat",
        "location/lon",
        "location/alt",
        "location/accuracy",
        "name",
        "size",
        "kind",
        "kind/food",
        "kind/repair",
        "kind/old",
        "owner_phone",
        "notes",
    ]
    assert main.freeze_panes == "A2" and main.auto_filter.ref
    by_version = {
        r[3]: dict(zip(header, r, strict=True)) for r in rows[1:] if r[header.index("name")] != "no place"
    }
    old, new, newest = by_version["1"], by_version["2"], by_version["3"]
    assert newest["size"] == 7.5 and newest["kind"] is None
    assert old["name"] == TRICKY and old["size"] == "12a" and old["kind"] == "old" and old["kind/old"] == 1
    assert old["owner_phone"] == "0812345678"
    assert len(old["notes"]) <= 32_767 and old["notes"].startswith("ก" * 10_000)
    assert new["size"] == 7 and new["kind"] == "food repair nowhere" and new["kind/repair"] == 1
    assert isinstance(new["_created_at"], dt.datetime) and new["_lat"] == 14.98
    staff = list(book["staff"].iter_rows(values_only=True))
    assert staff[0][:4] == ("_parent_record_id", "_parent_path", "_index", "_path")
    assert [(r[2], r[3], r[4]) for r in staff[1:]] == [(1, "visit/staff[1]", "A"), (2, "visit/staff[2]", "B")]
    assert staff[1][0] == new["_record_id"]
    shifts = list(book["shifts"].iter_rows(values_only=True))
    assert [(r[1], r[2], r[4]) for r in shifts[1:]] == [("visit/staff[1]", 1, 4), ("visit/staff[1]", 2, 5)]
    dictionary = {r[0]: r for r in book["_dictionary"].iter_rows(values_only=True)}
    assert dictionary["name"][-3:] == ("1 2 3", False, None)
    assert dictionary["size"][-4:-1] == ("decimal", "1 2 3", False)  # versions, sensitive, note


async def test_labels_in_thai_and_sensitive_fields_empty_for_an_analyst(client, shops):
    _, analyst, _ = shops
    book = openpyxl.load_workbook(
        io.BytesIO(await download(client, analyst, "xlsx", labels="true", lang="th"))
    )
    rows = list(book["shops"].iter_rows(values_only=True))
    header = list(rows[0])
    assert "ชื่อร้าน" in header and "owner_phone" in header
    phone = header.index("owner_phone")
    assert all(r[phone] is None for r in rows[1:])
    kinds = {r[header.index("kind")] for r in rows[1:]}
    assert "อาหาร repair nowhere" in kinds
    notes = [r for r in book["_dictionary"].iter_rows(values_only=True) if r[0] == "owner_phone"]
    assert notes and "personal" in (notes[0][-1] or "")
    features = json.loads(await download(client, analyst, "geojson"))["features"]
    assert [f["properties"]["owner_phone"] for f in features] == [None] * 4
    table = zipfile.ZipFile(io.BytesIO(await download(client, analyst, "csv"))).read("shops.csv")
    assert b"0812345678" not in table


async def test_csv_is_a_zip_of_bom_tables_that_round_trip_thai_text(client, shops):
    coordinator, _, _ = shops
    archive = zipfile.ZipFile(io.BytesIO(await download(client, coordinator, "csv")))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == ["shifts.csv", "shops.csv", "staff.csv"]
    data = archive.read("shops.csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == 4
    assert TRICKY in [r["name"] for r in rows]


async def test_geojson_reads_in_ogrinfo_without_a_warning_and_keeps_records_without_a_place(
    client, shops, tmp_path
):
    coordinator, _, _ = shops
    body = await download(client, coordinator, "geojson")
    collection = json.loads(body)
    features = collection["features"]
    assert len(features) == 4
    placeless = [f for f in features if f["properties"]["name"] == "no place"]
    assert placeless[0]["geometry"] is None
    placed = next(f for f in features if f["properties"]["name"] == "ร้านซ่อม")
    assert placed["geometry"] == {"type": "Point", "coordinates": [102.11, 14.98]}
    assert placed["properties"]["kind"] == ["food", "repair", "nowhere"]
    staff = placed["properties"]["visit/staff"]
    assert [s["visit/staff/who"] for s in staff] == ["A", "B"]
    assert [s["visit/staff/shifts/hours"] for s in staff[0]["visit/staff/shifts"]] == [4, 5]
    need("ogrinfo", "gdal-bin")
    path = tmp_path / "shops.geojson"
    path.write_bytes(body)
    checked = await asyncio.to_thread(
        subprocess.run,
        ["ogrinfo", "-ro", "-al", "-so", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "Feature Count: 4" in checked.stdout
    assert "Warning" not in checked.stderr and "ERROR" not in checked.stderr, checked.stderr


async def test_filters_and_an_empty_export_is_a_valid_file(client, shops):
    coordinator, _, _ = shops
    empty = await download(client, coordinator, "geojson", bbox="100,10,101,11")
    assert json.loads(empty) == {"type": "FeatureCollection", "features": []}
    book = openpyxl.load_workbook(io.BytesIO(await download(client, coordinator, "xlsx", until="2000-01-01")))
    assert book["shops"].max_row == 1
    tables = zipfile.ZipFile(io.BytesIO(await download(client, coordinator, "csv", until="2000-01-01")))
    header_only = tables.read("shops.csv").decode("utf-8-sig").splitlines()
    assert len(header_only) == 1 and header_only[0].startswith("_record_id,")
    later = await download(
        client, coordinator, "geojson", since="2000-01-01T00:00:00Z", bbox="102.105,14.975,102.2,15"
    )
    assert [f["properties"]["name"] for f in json.loads(later)["features"]] == ["ร้านซ่อม"]


@pytest.mark.parametrize(
    ("path", "params", "status", "loc"),
    [
        ("export.pdf", {}, 404, None),
        ("exports.csv", {}, 404, None),
        ("export.csv", {"bbox": "1,2,3"}, 422, ["query", "bbox"]),
        ("export.csv", {"since": "yesterday"}, 422, ["query", "since"]),
        ("export.csv", {"include": "some"}, 422, ["query", "include"]),
        ("export.csv", {"area": "districts:01"}, 422, ["query", "area"]),
        ("export.geojson", {"geometry": "name"}, 422, ["query", "geometry"]),
    ],
)
async def test_bad_requests_are_problems_naming_the_parameter(client, shops, path, params, status, loc):
    coordinator, _, _ = shops
    response = await client.get(f"{BASE}/{path}", params=params, headers=coordinator.headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if loc is not None:
        assert [e["loc"] for e in response.json()["errors"]] == [loc]


async def test_unknown_form_is_404_and_a_volunteer_may_not_export(client, shops, member):
    coordinator, _, _ = shops
    missing = await client.get("/api/v1/projects/korat/forms/nope/export.csv", headers=coordinator.headers)
    assert missing.status_code == 404
    volunteer = await member("volunteer")
    refused = await client.get(f"{BASE}/export.csv", headers=volunteer.headers)
    assert refused.status_code == 403
