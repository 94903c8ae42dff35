"""OpenRosa access and hostile input: keys, roles, HTTP Basic over HTTPS only, and XML that is not a
form instance (XXE, billion laughs, garbage, no instanceID, over the size limit), each answered as
OpenRosa with the status Collect understands."""

from __future__ import annotations

import base64
import uuid

import pytest
from httpx import AsyncClient

from tests.api.openrosa import (
    ANSWERS,
    HEADERS,
    LIST_NS,
    PHOTO,
    RESPONSE_NS,
    download,
    instance,
    post,
    publish_shops,
    xml_of,
)
from tests.factories import Person

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def tablet(client: AsyncClient, member) -> tuple[Person, str]:
    return await publish_shops(client, member)


async def test_wrong_key_is_403_and_unknown_project_404(
    client: AsyncClient, tablet: tuple[Person, str]
) -> None:
    listing = await client.get("/openrosa/key/sv_not-a-token/projects/korat/formList", headers=HEADERS)
    assert listing.status_code == 403
    assert listing.headers["x-openrosa-version"] == "1.0"
    _, root = tablet
    missing = await client.get(root.replace("/korat", "/nowhere") + "/formList", headers=HEADERS)
    assert missing.status_code == 404
    no_route = await client.get(f"{root}/not-a-route/at-all", headers=HEADERS)
    assert no_route.status_code == 404
    assert no_route.headers["x-openrosa-version"] == "1.0"  # the server's own answers carry it too


async def test_an_analyst_is_not_offered_forms(
    client: AsyncClient, tablet: tuple[Person, str], member
) -> None:
    analyst = await member("analyst")
    listing = await client.get(f"/openrosa/key/{analyst.token}/projects/korat/formList", headers=HEADERS)
    assert listing.status_code == 403


async def test_empty_form_list_is_200(client: AsyncClient, member) -> None:
    volunteer = await member("volunteer")
    listing = await client.get(f"/openrosa/key/{volunteer.token}/projects/korat/formList", headers=HEADERS)
    assert listing.status_code == 200
    assert list(xml_of(listing)) == []


async def test_basic_auth_is_challenged_over_https_only(
    client: AsyncClient, tablet: tuple[Person, str], make_person, admin: Person
) -> None:
    person = await make_person(email="somchai@example.org", password="correct horse battery")
    added = await client.put(
        f"/api/v1/projects/korat/members/{person.id}", json={"role": "volunteer"}, headers=admin.headers
    )
    assert added.status_code == 200
    plain = await client.get("/openrosa/projects/korat/formList", headers=HEADERS)
    assert plain.status_code == 403
    https = {**HEADERS, "X-Forwarded-Proto": "https"}
    challenged = await client.get("/openrosa/projects/korat/formList", headers=https)
    assert challenged.status_code == 401
    assert challenged.headers["www-authenticate"].startswith("Basic ")
    wrong = base64.b64encode(b"somchai@example.org:wrong password").decode()
    refused = await client.get(
        "/openrosa/projects/korat/formList", headers={**https, "Authorization": f"Basic {wrong}"}
    )
    assert refused.status_code == 401
    good = base64.b64encode(b"somchai@example.org:correct horse battery").decode()
    listed = await client.get(
        "/openrosa/projects/korat/formList", headers={**https, "Authorization": f"Basic {good}"}
    )
    assert listed.status_code == 200
    url = xml_of(listed).find(f"{LIST_NS}xform/{LIST_NS}downloadUrl")
    assert url is not None and (url.text or "").startswith(
        "https://survey.test/openrosa/projects/korat/forms/"
    )


XXE = b"""<?xml version="1.0"?><!DOCTYPE shops [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<shops id="shops" version="2026-11-30"><shop_name>&x;</shop_name><meta><instanceID>uuid:1</instanceID></meta></shops>"""
LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><shops id="shops"><shop_name>&lol3;</shop_name></shops>"""


@pytest.mark.parametrize(
    "xml",
    [
        XXE,
        LAUGHS,
        b"not xml at all",
        b"<shops><unclosed></shops>",
        b'<shops id="shops"><meta/></shops>',
        b"<x/>",
    ],
    ids=["xxe", "billion-laughs", "not-xml", "malformed", "no-instance-id", "no-form-id"],
)
async def test_bad_xml_is_400(client: AsyncClient, tablet: tuple[Person, str], xml: bytes) -> None:
    _, root = tablet
    sent = await client.post(f"{root}/submission", **post(xml))
    assert sent.status_code == 400, sent.text
    assert xml_of(sent).find(f"{RESPONSE_NS}message") is not None


async def test_no_xml_part_is_400_and_oversize_413(
    client: AsyncClient, tablet: tuple[Person, str], settings
) -> None:
    _, root = tablet
    no_part = await client.post(
        f"{root}/submission", files=[("photo.jpg", ("photo.jpg", PHOTO, "image/jpeg"))], headers=HEADERS
    )
    assert no_part.status_code == 400
    not_multipart = await client.post(
        f"{root}/submission", content=b"<x/>", headers={**HEADERS, "Content-Type": "text/xml"}
    )
    assert not_multipart.status_code == 400
    huge_text = (
        b'<shops id="shops" version="2026-11-30"><shop_name>'
        + b"a" * (settings.max_body_bytes + 1)
        + b"</shop_name></shops>"
    )
    too_big = await client.post(f"{root}/submission", **post(huge_text))
    assert too_big.status_code == 413
    assert too_big.headers["x-openrosa-version"] == "1.0"


async def test_a_post_that_fits_the_announced_length_is_taken(
    client: AsyncClient, tablet: tuple[Person, str], settings
) -> None:
    """Collect fills a POST up to `X-OpenRosa-Accept-Content-Length` with files: that must never be a 413."""
    _, root = tablet
    head = await client.head(f"{root}/submission", headers=HEADERS)
    announced = int(head.headers["x-openrosa-accept-content-length"])
    assert announced < settings.max_body_bytes
    _, xform = await download(client, root)
    one_photo = {name: answer for name, answer in ANSWERS.items() if name != "street"}
    xml = instance(xform, one_photo, str(uuid.uuid4()))
    photo = b"\xff\xd8" + b"\x00" * (announced - len(xml) - 2)
    sent = await client.post(f"{root}/submission", **post(xml, ("front.jpg", photo)))
    assert sent.status_code == 201, sent.text
