"""A coordinator downloads exactly the XLSForm they uploaded (issue 15), whoever reads forms."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.factories import Person
from tests.workbooks import XLS, XLSX, build_xls, build_xlsx

FORMS = "/api/v1/projects/korat/forms"


async def upload(client: AsyncClient, who: Person, data: bytes, filename: str, media: str = XLSX) -> Any:
    response = await client.post(FORMS, files={"file": (filename, data, media)}, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def download(client: AsyncClient, who: Person, key: str, version: str) -> Any:
    return await client.get(f"{FORMS}/{key}/versions/{version}/xlsform", headers=who.headers)


async def test_the_uploaded_xlsx_is_served_byte_for_byte(client: AsyncClient, member) -> None:
    coordinator, volunteer = await member("coordinator"), await member("volunteer")
    survey = [["type", "name", "label"], ["text", "shop_name", "Shop name"]]
    data = build_xlsx(survey, None, [["form_id", "version"], ["shops", "2026 Nov 1"]])
    created = await upload(client, coordinator, data, "my shops.xlsx")
    response = await download(client, coordinator, "shops", "2026 Nov 1")
    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"] == XLSX
    assert response.headers["content-disposition"] == 'attachment; filename="shops-2026_Nov_1.xlsx"'
    assert (await download(client, volunteer, "shops", created["version"])).status_code == 404  # a draft
    published = await client.post(
        f"{FORMS}/shops/versions/{created['version']}/publish", headers=coordinator.headers
    )
    assert published.status_code == 200, published.text
    assert (await download(client, volunteer, "shops", created["version"])).content == data
    assert (await download(client, coordinator, "shops", "2")).status_code == 404


async def test_a_draft_uploaded_again_serves_the_newest_workbook_and_json_serves_none(
    client: AsyncClient, member
) -> None:
    coordinator = await member("coordinator")
    settings = [["form_id", "version"], ["shops", "1"]]
    first = build_xlsx([["type", "name", "label"], ["text", "shop_name", "Shop"]], None, settings)
    second = build_xlsx([["type", "name", "label"], ["integer", "stalls", "Stalls"]], None, settings)
    await upload(client, coordinator, first, "shops.xlsx")
    await upload(client, coordinator, second, "shops.xlsx")
    assert (await download(client, coordinator, "shops", "1")).content == second
    as_json = {"key": "shops", "version": "1", "title": "Shops", "fields": [{"name": "n", "type": "text"}]}
    replaced = await client.post(FORMS, json=as_json, headers=coordinator.headers)
    assert replaced.status_code == 201, replaced.text
    response = await download(client, coordinator, "shops", "1")
    assert response.status_code == 404
    assert "uploaded as JSON" in response.json()["detail"]


async def test_an_old_excel_xls_is_served_as_one(client: AsyncClient, member) -> None:
    coordinator = await member("coordinator")
    data = build_xls([["type", "name", "label"], ["text", "your_name", "What is your name?"]])
    created = await upload(client, coordinator, data, "text_and_integer.xls", XLS)
    response = await download(client, coordinator, created["key"], created["version"])
    assert response.status_code == 200, response.text
    assert response.content == data and response.headers["content-type"] == XLS
    assert response.headers["content-disposition"].endswith(f'-{created["version"]}.xls"')
