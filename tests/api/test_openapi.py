"""The OpenAPI document says what the server does, and its page at /schema needs no internet.

No database: only the schema routes are called, and they need neither a token nor a connection.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from httpx import ASGITransport, AsyncClient

from survey_api.app import create_app
from survey_api.settings import Settings

BASE = "http://survey.test"
SYNC = "/api/v1/projects/{project}/sync"
FORMS = "/api/v1/projects/{project}/forms"
PROBLEM = "application/problem+json"


@pytest.fixture
async def anonymous(settings: Settings) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=create_app(settings), raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


@pytest.fixture
async def document(anonymous: AsyncClient) -> dict[str, Any]:
    response = await anonymous.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = doc["components"]["schemas"][name]
    return schema


def operations(doc: dict[str, Any]):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


async def test_the_sync_push_declares_its_batch_in_json_and_msgpack(document: dict[str, Any]) -> None:
    body = document["paths"][SYNC]["post"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"application/json", "application/msgpack"}
    for media in body["content"].values():
        batch = resolve(document, media["schema"])
        assert set(batch["properties"]) == {"device_id", "sent_at", "submissions"}
        assert batch["required"] == ["submissions"]
        assert batch["properties"]["submissions"]["maxItems"] == 1000
        item = resolve(document, batch["properties"]["submissions"]["items"])
        assert {"uuid", "form", "version", "answers", "record_id", "base_revision"} <= set(item["properties"])
        assert set(item["required"]) == {"uuid", "form", "version", "answers"}
        assert item.get("additionalProperties") is not False  # old tablet apps send more


async def test_the_sync_push_answers_a_batch_result(document: dict[str, Any]) -> None:
    ok = document["paths"][SYNC]["post"]["responses"]["200"]
    assert set(ok["content"]) == {"application/json", "application/msgpack"}
    for media in ok["content"].values():
        result = resolve(document, media["schema"])
        assert set(result["required"]) == {"results", "server_time"}
        item = resolve(document, result["properties"]["results"]["items"])
        assert {"uuid", "status", "record_id", "revision", "duplicate_of", "issues", "errors"} <= set(
            item["properties"]
        )


async def test_a_form_is_uploaded_as_json_or_an_xlsform(document: dict[str, Any]) -> None:
    content = document["paths"][FORMS]["post"]["requestBody"]["content"]
    definition = resolve(document, content["application/json"]["schema"])
    assert {"key", "version", "title", "fields"} <= set(definition["required"])
    upload = content["multipart/form-data"]["schema"]
    assert upload["required"] == ["file"]
    file = upload["properties"]["file"]
    assert (file["type"], file["format"]) == ("string", "binary")
    assert file["description"].startswith("an XLSForm (.xlsx or .xls)")


async def test_every_error_is_documented_as_a_problem_document(document: dict[str, Any]) -> None:
    problem = resolve(document, {"$ref": "#/components/schemas/ProblemDocument"})
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    assert "errors" in problem["properties"]
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) < 400 or (path, status) == ("/health", "503"):
                continue
            assert list(response["content"]) == [PROBLEM], (method, path, status)
            assert response["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/ProblemDocument"}
        if path.startswith("/api/"):
            assert "401" in op["responses"] or op.get("security") == [], (method, path)
        if "{project}" in path:
            assert {"403", "404"} <= set(op["responses"]), (method, path)
        if "requestBody" in op:
            assert {"400", "413", "422"} <= set(op["responses"]), (method, path)
    assert "status_code" not in str(document)  # Litestar's own error shape, which is never sent


async def test_the_statuses_of_the_intake_are_documented(document: dict[str, Any]) -> None:
    push = document["paths"][SYNC]["post"]["responses"]
    assert {"400", "401", "403", "404", "413", "415", "503"} <= set(push)
    upload = document["paths"][FORMS]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "415", "422"} <= set(upload)


async def test_health_and_login_need_no_token(document: dict[str, Any]) -> None:
    assert document["security"] == [{"bearer": []}]
    assert document["paths"]["/health"]["get"]["security"] == []
    assert document["paths"]["/api/v1/auth/token"]["post"]["security"] == []
    assert "401" in document["paths"]["/api/v1/auth/token"]["post"]["responses"]  # a wrong password
    assert "security" not in document["paths"][SYNC]["post"]  # the document's bearer requirement
    unhealthy = document["paths"]["/health"]["get"]["responses"]["503"]["content"]["application/json"]
    assert resolve(document, unhealthy["schema"])["required"] == ["database", "status"]


async def test_every_reference_resolves(document: dict[str, Any]) -> None:
    refs = set(re.findall(r"'\$ref': '#/components/schemas/([^']+)'", str(document)))
    assert refs and refs <= set(document["components"]["schemas"])


async def test_the_schema_page_works_without_internet(anonymous: AsyncClient) -> None:
    page = await anonymous.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    assets = [urljoin(f"{BASE}/schema", url) for url in urls]
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    off_host = [a for a in assets if urlsplit(a).netloc != urlsplit(BASE).netloc]
    assert off_host == []
    assert re.findall(r"https?://(?!survey\.test)[^\s\"'<>)]+", page.text) == []
    for asset in assets:
        response = await anonymous.get(asset)
        assert response.status_code == 200, asset
        assert response.content


async def test_an_uploaded_xlsform_is_downloaded_as_a_file(document: dict[str, Any]) -> None:
    operation = document["paths"][FORMS + "/{key}/versions/{version}/xlsform"]["get"]
    success = operation["responses"]["200"]
    assert set(success["content"]) == {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-excel",
    }
    assert "Content-Disposition" in success["headers"]
    assert {"401", "403", "404"} <= set(operation["responses"])


async def test_a_forms_files_are_attached_as_multipart_and_listed(document: dict[str, Any]) -> None:
    path = document["paths"]["/api/v1/projects/{project}/forms/{key}/versions/{version}/media"]
    body = path["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    assert body["multipart/form-data"]["schema"]["required"] == ["file"]
    assert {"201", "409", "415", "422"} <= set(path["post"]["responses"])
    listed = resolve(document, path["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"items", "missing"} <= set(listed["properties"])
