"""Files in exports: photo cells link to the file (a hyperlink in xlsx), `media=true` zips the files."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import openpyxl
import pytest
from httpx import AsyncClient

from survey_api.exporting import jobs
from survey_api.settings import Settings
from survey_api.stores.media import LocalMedia
from tests.api.test_api_attachments import BASE, JPEG, send_shop

EXPORT = "/api/v1/projects/korat/forms/shops/export"


@pytest.fixture
async def photographed(client: AsyncClient, member) -> dict[str, Any]:
    """A shop whose front and second room photos were sent; an analyst without pii."""
    sent = await send_shop(client, member)
    for name in ("front.jpg", "room2.jpg", "card.jpg"):
        put = await client.put(
            f"{BASE}/{sent['uuid']}/attachments/{name}",
            content=JPEG + name.encode(),
            headers={**sent["volunteer"].headers, "Content-Type": "image/jpeg"},
        )
        assert put.status_code == 201, put.text
    return sent


def link(uuid: str, name: str, base: str = "http://survey.test") -> str:
    return f"{base}/api/v1/projects/korat/submissions/{uuid}/attachments/{name}"


async def test_xlsx_photo_cell_is_a_hyperlink_that_downloads_the_photo(
    client: AsyncClient, photographed: dict[str, Any]
) -> None:
    response = await client.get(f"{EXPORT}.xlsx", headers=photographed["coordinator"].headers)
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["shops"]
    headers = [c.value for c in sheet[1]]
    cell = sheet.cell(2, headers.index("front") + 1)
    assert cell.value == link(photographed["uuid"], "front.jpg")
    assert cell.hyperlink is not None and cell.hyperlink.target == cell.value
    sound = sheet.cell(2, headers.index("visit/sound") + 1)
    assert sound.hyperlink.target == link(photographed["uuid"], "noise.m4a")  # expected, not yet received

    target = urlsplit(cell.hyperlink.target)
    downloaded = await client.get(target.path, headers=photographed["coordinator"].headers)
    assert downloaded.status_code == 200 and downloaded.content == JPEG + b"front.jpg"

    rooms = book["rooms"]
    room_headers = [c.value for c in rooms[1]]
    pictures = [rooms.cell(r, room_headers.index("rooms/picture") + 1) for r in (2, 3)]
    assert [p.hyperlink.target for p in pictures] == [
        link(photographed["uuid"], "room1.jpg"),
        link(photographed["uuid"], "room2.jpg"),
    ]


async def test_csv_and_geojson_hold_the_link_text_and_sensitive_photos_stay_empty(
    client: AsyncClient, photographed: dict[str, Any]
) -> None:
    analyst = photographed["analyst"].headers
    zipped = await client.get(f"{EXPORT}.csv", headers=analyst)
    assert zipped.status_code == 200
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        text = archive.read("shops.csv").decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["front"] == link(photographed["uuid"], "front.jpg")
    assert row["id_card"] == ""  # sensitive, and the analyst may not see personal data

    features = (await client.get(f"{EXPORT}.geojson", headers=analyst)).json()["features"]
    assert features[0]["properties"]["front"] == link(photographed["uuid"], "front.jpg")
    assert features[0]["properties"]["id_card"] is None


async def test_media_zip_holds_the_table_and_the_received_files(
    client: AsyncClient, photographed: dict[str, Any]
) -> None:
    uuid = photographed["uuid"]
    response = await client.get(f"{EXPORT}.xlsx?media=true", headers=photographed["coordinator"].headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="korat-shops.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names[0] == "korat-shops.xlsx"
        assert sorted(names[1:]) == [f"media/{uuid}/{n}" for n in ("card.jpg", "front.jpg", "room2.jpg")]
        assert archive.read(f"media/{uuid}/front.jpg") == JPEG + b"front.jpg"
        book = openpyxl.load_workbook(io.BytesIO(archive.read("korat-shops.xlsx")))
    headers = [c.value for c in book["shops"][1]]
    assert book["shops"].cell(2, headers.index("front") + 1).hyperlink.target == link(uuid, "front.jpg")

    # without pii: the sensitive photo is neither linked nor in the zip; csv tables sit beside the files
    analyst = await client.get(f"{EXPORT}.csv?media=true", headers=photographed["analyst"].headers)
    with zipfile.ZipFile(io.BytesIO(analyst.content)) as archive:
        names = archive.namelist()
    assert "shops.csv" in names and "rooms.csv" in names
    assert f"media/{uuid}/card.jpg" not in names and f"media/{uuid}/front.jpg" in names


async def test_media_must_be_a_boolean(client: AsyncClient, photographed: dict[str, Any]) -> None:
    response = await client.get(f"{EXPORT}.xlsx?media=maybe", headers=photographed["coordinator"].headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "media"]


@pytest.fixture
def settings(tmp_path, request) -> Settings:
    """The tests' settings; SURVEY_PUBLIC_URL set for the tests named after it."""
    public = "https://survey.example.org/city" if "public_url" in request.node.name else None
    return Settings(
        database_url="postgresql+asyncpg://unused", data_dir=tmp_path, max_body_mb=4.0, public_url=public
    )


async def test_public_url_names_the_server_in_links_and_jobs_keep_it(
    client: AsyncClient, photographed: dict[str, Any], sessionmaker, settings: Settings
) -> None:
    uuid = photographed["uuid"]
    headers = photographed["coordinator"].headers
    got = await client.get(f"{EXPORT}.geojson", headers=headers)
    assert got.json()["features"][0]["properties"]["front"] == link(uuid, "front.jpg", settings.public_url)

    created = await client.post(
        "/api/v1/projects/korat/exports",
        json={"form": "shops", "format": "xlsx", "media": True},
        headers=headers,
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    # the worker's work, in the test's transaction (tests/api/test_api_export_jobs.py runs real workers)
    await jobs.execute(
        sessionmaker, settings.data_dir, timedelta(hours=1), UUID(job_id), LocalMedia(settings.media_root)
    )
    status = (await client.get(f"/api/v1/exports/{job_id}", headers=headers)).json()
    assert status["status"] == "done", status
    file = await client.get(f"/api/v1/exports/{job_id}/file", headers=headers)
    assert file.status_code == 200
    with zipfile.ZipFile(io.BytesIO(file.content)) as archive:
        assert f"media/{uuid}/front.jpg" in archive.namelist()
        book = openpyxl.load_workbook(io.BytesIO(archive.read("korat-shops.xlsx")))
    headers_row = [c.value for c in book["shops"][1]]
    cell = book["shops"].cell(2, headers_row.index("front") + 1)
    assert cell.hyperlink.target == link(uuid, "front.jpg", settings.public_url)
