"""Forms over HTTP: a coordinator uploads an XLSForm, publishes, revises; tablets see the new version."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from httpx import AsyncClient

from tests.factories import Person
from tests.workbooks import XLSX, build_xlsx

HEAD = ["type", "name", "label::Thai (th)", "label::English (en)", "required", "constraint", "sensitive"]
CHOICES = [
    ["list_name", "name", "label::Thai (th)", "label::English (en)"],
    ["surface", "concrete", "คอนกรีต", "Concrete"],
    ["surface", "brick", "อิฐตัวหนอน", "Paving brick"],
]


def sidewalk_xlsx(version: str, *, with_width: bool = False, bad: bool = False) -> bytes:
    survey: list[list[object]] = [
        HEAD,
        ["geopoint", "location", "ตำแหน่ง", "Location", "yes", None, None],
        ["text", "shop_name", "ชื่อร้าน", "Shop name", None, None, None],
        ["select_one surface", "surface", "ผิวทางเท้า", "Surface", None, None, None],
        ["text", "owner_phone", "โทรศัพท์เจ้าของ", "Owner phone", None, None, "yes"],
    ]
    if with_width:
        survey.append(["decimal", "width_m", "ความกว้าง (ม.)", "Width (m)", None, ". >= 0 and . <= 20", None])
    if bad:
        survey.append(["select_one nosuchlist", "broken", "x", "x", None, None, None])
        survey.append(["integer", "count", "จำนวน", "Count", None, ". > ${missing_field}", None])
    settings = [
        ["form_id", "version", "form_title", "default_language"],
        ["sidewalk_audit", version, "สำรวจทางเท้า", "Thai (th)"],
    ]
    return build_xlsx(survey, CHOICES, settings)


async def upload(client: AsyncClient, who: Person, data: bytes) -> Any:
    return await client.post(
        "/api/v1/projects/korat/forms", files={"file": ("sidewalk.xlsx", data, XLSX)}, headers=who.headers
    )


async def test_coordinator_publishes_versions_and_tablets_follow(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    volunteer = await member("volunteer")

    first = await upload(client, coordinator, sidewalk_xlsx("2026-11-01"))
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "draft" and first.json()["key"] == "sidewalk_audit"

    # Drafts are invisible to tablets.
    empty = await client.get("/api/v1/projects/korat/forms", headers=volunteer.headers)
    assert empty.json() == {"items": []}

    published = await client.post(
        "/api/v1/projects/korat/forms/sidewalk_audit/versions/2026-11-01/publish", headers=coordinator.headers
    )
    assert published.status_code == 200 and published.json()["status"] == "published"

    listing = await client.get("/api/v1/projects/korat/forms", headers=volunteer.headers)
    assert listing.status_code == 200
    etag = listing.headers["etag"]
    [item] = listing.json()["items"]
    assert item["version"] == "2026-11-01" and item["title"] == "สำรวจทางเท้า"
    unchanged = await client.get(
        "/api/v1/projects/korat/forms", headers={**volunteer.headers, "If-None-Match": etag}
    )
    assert unchanged.status_code == 304 and unchanged.content == b""

    definition = (
        await client.get("/api/v1/projects/korat/forms/sidewalk_audit", headers=volunteer.headers)
    ).json()
    names = [f["name"] for f in definition["fields"]]
    assert names == ["location", "shop_name", "surface", "owner_phone"]
    assert definition["fields"][1]["label"] == {"th": "ชื่อร้าน", "en": "Shop name"}
    assert definition["fields"][3]["sensitive"] is True

    # Version 2 adds a field; the published v1 cannot be overwritten.
    reuse = await upload(client, coordinator, sidewalk_xlsx("2026-11-01", with_width=True))
    assert reuse.status_code == 409
    second = await upload(client, coordinator, sidewalk_xlsx("2026-11-15", with_width=True))
    assert second.status_code == 201
    await client.post(
        "/api/v1/projects/korat/forms/sidewalk_audit/versions/2026-11-15/publish", headers=coordinator.headers
    )

    changed = await client.get(
        "/api/v1/projects/korat/forms", headers={**volunteer.headers, "If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["items"][0]["version"] == "2026-11-15"

    diff = await client.get(
        "/api/v1/projects/korat/forms/sidewalk_audit/diff",
        params={"from": "2026-11-01", "to": "2026-11-15"},
        headers=volunteer.headers,
    )
    assert diff.status_code == 200
    assert diff.json() == {"added": ["width_m"], "removed": [], "changed": []}

    versions = await client.get(
        "/api/v1/projects/korat/forms/sidewalk_audit/versions", headers=volunteer.headers
    )
    assert [v["version"] for v in versions.json()["items"]] == ["2026-11-01", "2026-11-15"]
    old = await client.get(
        "/api/v1/projects/korat/forms/sidewalk_audit/versions/2026-11-01", headers=volunteer.headers
    )
    assert "width_m" not in [f["name"] for f in old.json()["fields"]]


async def test_form_list_speaks_msgpack(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    assert (await upload(client, coordinator, sidewalk_xlsx("1"))).status_code == 201
    published = await client.post(
        "/api/v1/projects/korat/forms/sidewalk_audit/versions/1/publish", headers=coordinator.headers
    )
    assert published.status_code == 200, published.text
    response = await client.get(
        "/api/v1/projects/korat/forms", headers={**coordinator.headers, "Accept": "application/msgpack"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/msgpack")
    assert msgspec.msgpack.decode(response.content)["items"][0]["key"] == "sidewalk_audit"


async def test_invalid_xlsform_lists_every_problem_with_location(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    response = await upload(client, coordinator, sidewalk_xlsx("1", bad=True))
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    # Rows 6 and 7 of the survey sheet: a choice list that is not there, a reference to no field.
    assert [(e["loc"], e["code"]) for e in body["errors"]] == [
        (["survey", 6, "type"], "unknown_choices"),
        (["survey", 7, "constraint"], "unknown_reference"),
    ], body


async def test_unreadable_uploads_are_422_not_500(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    for data, code in (
        (b"\xd0\xcf\x11\xe0 old .xls renamed", "not_xlsx"),
        (b"PK\x03\x04 truncated zip", "corrupt_file"),
        (b"", "not_xlsx"),
    ):
        response = await upload(client, coordinator, data)
        assert response.status_code == 422, response.text
        assert [e["code"] for e in response.json()["errors"]] == [code], response.text


SIDEWALK_JSON: dict[str, Any] = {
    "key": "sidewalk_json",
    "version": "1",
    "title": {"th": "สำรวจทางเท้า", "en": "Sidewalk audit"},
    "default_language": "th",
    "fields": [
        {"name": "location", "type": "geopoint", "required": True},
        {"name": "shop_name", "type": "text"},
        {"name": "trees", "type": "repeat", "fields": [{"name": "species", "type": "text"}]},
    ],
}


async def test_json_definition_with_unknown_keys_names_them(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    bad = copy.deepcopy(SIDEWALK_JSON)
    bad["colour"] = "blue"
    bad["fields"][1]["lable"] = "typo"
    response = await client.post("/api/v1/projects/korat/forms", json=bad, headers=coordinator.headers)
    assert response.status_code == 422
    messages = " ".join(e["message"] + str(e["loc"]) for e in response.json()["errors"])
    assert "colour" in messages and "lable" in messages

    good = await client.post("/api/v1/projects/korat/forms", json=SIDEWALK_JSON, headers=coordinator.headers)
    assert good.status_code == 201
    # Re-uploading a draft replaces it.
    again = await client.post("/api/v1/projects/korat/forms", json=SIDEWALK_JSON, headers=coordinator.headers)
    assert again.status_code == 201 and again.json()["hash"] == good.json()["hash"]


async def test_unsupported_expression_publishes_with_a_warning(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    definition = copy.deepcopy(SIDEWALK_JSON)
    definition["fields"][1]["constraint"] = "pulldata('shops', 'name', 'id', ${shop_name}) != ''"
    response = await client.post("/api/v1/projects/korat/forms", json=definition, headers=coordinator.headers)
    assert response.status_code == 201, response.text
    [warning] = response.json()["warnings"]
    assert "pulldata" in warning and "not evaluated" in warning
    published = await client.post(
        "/api/v1/projects/korat/forms/sidewalk_json/versions/1/publish", headers=coordinator.headers
    )
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published" and published.json()["warnings"] == [warning]


async def test_volunteers_cannot_upload_and_unknown_forms_are_404(client: AsyncClient, member) -> None:
    volunteer = await member("volunteer")
    refused = await client.post("/api/v1/projects/korat/forms", json=SIDEWALK_JSON, headers=volunteer.headers)
    assert refused.status_code == 403
    missing = await client.get("/api/v1/projects/korat/forms/nope", headers=volunteer.headers)
    assert missing.status_code == 404
    # Refused before the body is looked at: a volunteer learns nothing about what an upload may be.
    yaml = await client.post(
        "/api/v1/projects/korat/forms",
        content=b"key: x",
        headers={**volunteer.headers, "Content-Type": "text/yaml"},
    )
    assert yaml.status_code == 403


async def test_a_form_in_another_media_type_is_415(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    yaml = await client.post(
        "/api/v1/projects/korat/forms",
        content=b"key: x",
        headers={**coordinator.headers, "Content-Type": "text/yaml"},
    )
    assert yaml.status_code == 415, yaml.text
    assert yaml.headers["content-type"].startswith("application/problem+json")
    assert "text/yaml" in yaml.json()["detail"]


async def test_duplicate_policy_can_be_set(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    await client.post("/api/v1/projects/korat/forms", json=SIDEWALK_JSON, headers=coordinator.headers)
    policy = {"radius_m": 15, "match_fields": ["shop_name"], "auto_merge_score": 0.95}
    response = await client.put(
        "/api/v1/projects/korat/forms/sidewalk_json/dedup", json=policy, headers=coordinator.headers
    )
    assert response.status_code == 200
    assert response.json()["radius_m"] == 15 and response.json()["review_score"] == 0.6
    bad = await client.put(
        "/api/v1/projects/korat/forms/sidewalk_json/dedup", json={"radius": 15}, headers=coordinator.headers
    )
    assert bad.status_code == 422


async def test_a_duplicate_policy_is_checked_against_the_form(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    await client.post("/api/v1/projects/korat/forms", json=SIDEWALK_JSON, headers=coordinator.headers)
    policy = {
        "radius_m": 0,
        "match_fields": ["shop_name", "no_such_field"],
        "auto_merge_score": 0.5,
        "review_score": 0.7,
        "survivorship": {"shop_name": "loudest"},
    }
    response = await client.put(
        "/api/v1/projects/korat/forms/sidewalk_json/dedup", json=policy, headers=coordinator.headers
    )
    assert response.status_code == 422
    codes = {e["code"] for e in response.json()["errors"]}
    assert codes == {"unknown_field", "unknown_rule", "bad_scores", "out_of_range"}


async def test_every_duplicate_policy_knob_is_bounded(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    await client.post("/api/v1/projects/korat/forms", json=SIDEWALK_JSON, headers=coordinator.headers)
    url = "/api/v1/projects/korat/forms/sidewalk_json/dedup"
    for knob, value in [
        ("radius_m", 1e6),
        ("radius_m", 1e300),
        ("radius_m", 1000.5),
        ("radius_m", -1),
        ("time_window_h", 1e9),
        ("time_window_h", 0),
        ("match_fields", ["shop_name"] * 21),
    ]:
        response = await client.put(url, json={knob: value}, headers=coordinator.headers)
        assert response.status_code == 422, (knob, value, response.text)
        [error] = response.json()["errors"]
        assert error["loc"] == ["dedup", knob], error
    edge = await client.put(url, json={"radius_m": 1000, "time_window_h": 24}, headers=coordinator.headers)
    assert edge.status_code == 200, edge.text
