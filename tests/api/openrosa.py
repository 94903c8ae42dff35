"""What the OpenRosa tests share: the `shops` form, a volunteer's tablet pointed at the server, and
Collect's side of the exchange (the form list read, the instance filled from the XForm, the multipart POST)."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from typing import Any

from httpx import AsyncClient

from survey_api.demo.collect import instance_xml, template_of
from tests.factories import Person

SHOPS: dict[str, Any] = {
    "key": "shops",
    "version": "2026-11-30",
    "title": {"en": "Shops", "th": "ร้านค้า"},
    "default_language": "th",
    "fields": [
        {"name": "shop_name", "type": "text", "required": True, "label": {"en": "Name", "th": "ชื่อร้าน"}},
        {
            "name": "place",
            "type": "group",
            "fields": [
                {"name": "location", "type": "geopoint"},
                {"name": "opened", "type": "date"},
            ],
        },
        {"name": "goods", "type": "select_multiple", "choices": "goods"},
        {"name": "seats", "type": "integer", "constraint": ". >= 0"},
        {"name": "frontage", "type": "geotrace"},
        {"name": "front", "type": "photo"},
        {"name": "street", "type": "photo"},
        {"name": "staff", "type": "repeat", "fields": [{"name": "role", "type": "text"}]},
    ],
    "choices": {"goods": [{"value": "rice"}, {"value": "noodles"}, {"value": "drinks"}]},
}


async def publish_shops(client: AsyncClient, member: Any) -> tuple[Person, str]:
    """A coordinator who published `shops`, and the OpenRosa root of a volunteer's tablet."""
    coordinator = await member("coordinator", pii=True)
    volunteer = await member("volunteer")
    created = await client.post("/api/v1/projects/korat/forms", json=SHOPS, headers=coordinator.headers)
    assert created.status_code == 201, created.text
    published = await client.post(
        f"/api/v1/projects/korat/forms/shops/versions/{SHOPS['version']}/publish", headers=coordinator.headers
    )
    assert published.status_code == 200, published.text
    return coordinator, f"/openrosa/key/{volunteer.token}/projects/korat"


LIST_NS = "{http://openrosa.org/xforms/xformsList}"
RESPONSE_NS = "{http://openrosa.org/http/response}"
HEADERS = {"X-OpenRosa-Version": "1.0"}
PHOTO = b"\xff\xd8\xff\xe0" + b"a shop front" * 100
SECOND_PHOTO = b"\xff\xd8\xff\xe0" + b"the sidewalk" * 100


def xml_of(response: Any) -> ET.Element:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.headers["x-openrosa-version"] == "1.0"
    return ET.fromstring(response.content)


async def download(client: AsyncClient, root: str) -> tuple[bytes, ET.Element]:
    listing = await client.get(f"{root}/formList", headers=HEADERS)
    assert listing.status_code == 200
    forms = xml_of(listing)
    assert forms.tag == f"{LIST_NS}xforms"
    entry = forms.find(f"{LIST_NS}xform")
    assert entry is not None
    assert entry.findtext(f"{LIST_NS}formID") == "shops"
    assert entry.findtext(f"{LIST_NS}version") == SHOPS["version"]
    url = entry.findtext(f"{LIST_NS}downloadUrl") or ""
    assert url.startswith("http://survey.test/openrosa/key/")
    form = await client.get(url.removeprefix("http://survey.test"), headers=HEADERS)
    assert form.status_code == 200
    assert entry.findtext(f"{LIST_NS}hash") == "md5:" + hashlib.md5(form.content).hexdigest()
    return form.content, ET.fromstring(form.content)


def instance(
    xform: ET.Element, answers: dict[str, Any], instance_id: str, deprecated: str | None = None
) -> bytes:
    """Fill the XForm's primary instance the way Collect does: one element per question."""
    return instance_xml(template_of(ET.tostring(xform)), answers, instance_id, deprecated)


def post(xml: bytes, *files: tuple[str, bytes], incomplete: bool = False) -> dict[str, Any]:
    parts: list[tuple[str, Any]] = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
    parts += [(name, (name, data, "image/jpeg")) for name, data in files]
    data = {"*isIncomplete*": "yes"} if incomplete else None
    return {"files": parts, "data": data, "headers": HEADERS}


ANSWERS = {
    "shop_name": "ร้านป้าศรี",
    "place": {"location": "14.9730 102.0836 180 4.5", "opened": "2019-05-01"},
    "goods": "rice drinks",
    "seats": "12",
    "frontage": "14.9730 102.0836 0 5;14.9731 102.0838 0 5",
    "front": "front.jpg",
    "street": "street.jpg",
    "staff": [{"role": "cook"}, {"role": "cashier"}],
}


async def record_of(client: AsyncClient, coordinator: Person) -> dict[str, Any]:
    listing = await client.get("/api/v1/projects/korat/forms/shops/records", headers=coordinator.headers)
    assert listing.status_code == 200, listing.text
    items = listing.json()["items"]
    assert len(items) == 1, items
    return items[0]
