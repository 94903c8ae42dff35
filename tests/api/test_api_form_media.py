"""Lists for select_one_from_file come from files attached to the version (issue 15)."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.factories import Person
from tests.workbooks import XLSX, build_xlsx

FORMS = "/api/v1/projects/korat/forms"
MEDIA = f"{FORMS}/shops/versions/1/media"
SURVEY = [
    ["type", "name", "label"],
    ["select_one_from_file shops.csv", "shop", "Shop"],
    ["select_multiple_from_file roads.geojson", "roads", "Roads"],
]
SHOPS = "name,label::English (en),label::Thai (th)\nnoodles,Noodle stall,ร้านก๋วยเตี๋ยว\ncafe,Cafe,คาเฟ่\n"
ROADS = (
    b'{"type": "FeatureCollection", "features": ['
    b'{"type": "Feature", "id": "r1", "geometry": null, "properties": {"title": "Mittraphap"}},'
    b'{"type": "Feature", "geometry": null, "properties": {"id": "r2", "title": "Suranari"}}]}'
)


async def upload_form(client: AsyncClient, who: Person) -> None:
    data = build_xlsx(SURVEY, None, [["form_id", "version"], ["shops", "1"]])
    response = await client.post(FORMS, files={"file": ("shops.xlsx", data, XLSX)}, headers=who.headers)
    assert response.status_code == 201, response.text


async def attach(client: AsyncClient, who: Person, name: str, data: bytes | str, media: str) -> Any:
    return await client.post(MEDIA, files={"file": (name, data, media)}, headers=who.headers)


async def publish(client: AsyncClient, who: Person) -> Any:
    return await client.post(f"{FORMS}/shops/versions/1/publish", headers=who.headers)


async def test_a_form_with_list_files_is_a_draft_until_each_file_is_attached(
    client: AsyncClient, member
) -> None:
    coordinator = await member("coordinator")
    await upload_form(client, coordinator)
    refused = await publish(client, coordinator)
    assert refused.status_code == 422, refused.text
    assert [(e["loc"], e["code"]) for e in refused.json()["errors"]] == [
        (["media", "roads.geojson"], "missing_file"),
        (["media", "shops.csv"], "missing_file"),
    ]
    attached = await attach(client, coordinator, "shops.csv", SHOPS, "text/csv")
    assert attached.status_code == 201, attached.text
    body = attached.json()
    assert (body["name"], body["expected"], body["choices"], len(body["sha256"])) == (
        "shops.csv",
        True,
        2,
        64,
    )
    listing = (await client.get(MEDIA, headers=coordinator.headers)).json()
    assert listing["missing"] == ["roads.geojson"]
    assert [(i["name"], i["attached"]) for i in listing["items"]] == [
        ("roads.geojson", False),
        ("shops.csv", True),
    ]
    refused = await publish(client, coordinator)
    assert [e["loc"] for e in refused.json()["errors"]] == [["media", "roads.geojson"]]
    assert (
        await attach(client, coordinator, "roads.geojson", ROADS, "application/geo+json")
    ).status_code == 201
    published = await publish(client, coordinator)
    assert published.status_code == 200, published.text
    definition = (await client.get(f"{FORMS}/shops", headers=coordinator.headers)).json()
    assert [c["value"] for c in definition["choices"]["roads.geojson"]] == ["r1", "r2"]
    assert definition["choices"]["shops.csv"][0]["label"] == {"en": "Noodle stall", "th": "ร้านก๋วยเตี๋ยว"}
    again = await attach(client, coordinator, "shops.csv", SHOPS, "text/csv")
    assert again.status_code == 409, again.text


async def test_answers_outside_an_attached_list_are_unknown_choices(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    await upload_form(client, coordinator)
    await attach(client, coordinator, "shops.csv", SHOPS, "text/csv")
    await attach(client, coordinator, "roads.geojson", ROADS, "application/geo+json")
    assert (await publish(client, coordinator)).status_code == 200
    batch = {
        "device_id": "tab-1",
        "submissions": [
            {
                "uuid": "0e4c1b52-6d0e-4a8e-9a43-000000000001",
                "form": "shops",
                "version": "1",
                "answers": {"shop": "cafe", "roads": ["r2"]},
            },
            {
                "uuid": "0e4c1b52-6d0e-4a8e-9a43-000000000002",
                "form": "shops",
                "version": "1",
                "answers": {"shop": "bakery", "roads": ["r1", "r9"]},
            },
        ],
    }
    response = await client.post("/api/v1/projects/korat/sync", json=batch, headers=coordinator.headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0].get("issues", []) == [], results[0]
    assert sorted((tuple(i["loc"]), i["code"]) for i in results[1]["issues"]) == [
        (("answers", "roads"), "not_in_choices"),
        (("answers", "shop"), "not_in_choices"),
    ], results[1]


async def test_a_csv_without_a_name_column_is_refused_at_its_header_row(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    await upload_form(client, coordinator)
    refused = await attach(client, coordinator, "shops.csv", "value,label\ncafe,Cafe\n", "text/csv")
    assert refused.status_code == 422, refused.text
    assert [(e["loc"], e["code"]) for e in refused.json()["errors"]] == [
        (["shops.csv", 1], "missing_name_column")
    ]
    blank = await attach(client, coordinator, "shops.csv", "name,label\ncafe,Cafe\n,Nameless\n", "text/csv")
    assert [(e["loc"], e["code"]) for e in blank.json()["errors"]] == [(["shops.csv", 3, "name"], "empty")]


async def test_only_coordinators_attach_files_and_volunteers_see_no_draft_media(
    client: AsyncClient, member
) -> None:
    coordinator, volunteer = await member("coordinator"), await member("volunteer")
    await upload_form(client, coordinator)
    assert (await attach(client, volunteer, "shops.csv", SHOPS, "text/csv")).status_code == 403
    assert (await client.get(MEDIA, headers=volunteer.headers)).status_code == 404
    as_json = await client.post(
        MEDIA, content=SHOPS, headers={**coordinator.headers, "content-type": "text/csv"}
    )
    assert as_json.status_code == 415
