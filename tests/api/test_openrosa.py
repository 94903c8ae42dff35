"""ODK Collect's exchange with the server, replayed as Collect sends it.

Collect lists forms (`formList`), downloads the XForm and checks its md5 against the list, fetches
the manifest, asks `HEAD .../submission` for the largest POST, then POSTs the instance as multipart
(`xml_submission_file` plus one part per photo), splitting big ones with `*isIncomplete*=yes`. Its
parser is namespace-aware and it treats only 201 and 202 as success, so both are checked here.
The instance is built the way Collect builds it: from the primary instance of the XForm served.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from httpx import AsyncClient

from tests.api.openrosa import SHOPS, publish_shops
from tests.factories import Person
from tests.workbooks import XLSX, build_xlsx

pytestmark = pytest.mark.asyncio(loop_scope="session")

LIST_NS = "{http://openrosa.org/xforms/xformsList}"
RESPONSE_NS = "{http://openrosa.org/http/response}"
XFORMS_NS = "{http://www.w3.org/2002/xforms}"
HEADERS = {"X-OpenRosa-Version": "1.0"}
PHOTO = b"\xff\xd8\xff\xe0" + b"a shop front" * 100
SECOND_PHOTO = b"\xff\xd8\xff\xe0" + b"the sidewalk" * 100


@pytest.fixture
async def tablet(client: AsyncClient, member) -> tuple[Person, str]:
    return await publish_shops(client, member)


def _xml(response: Any) -> ET.Element:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.headers["x-openrosa-version"] == "1.0"
    return ET.fromstring(response.content)


async def _download(client: AsyncClient, root: str) -> tuple[bytes, ET.Element]:
    listing = await client.get(f"{root}/formList", headers=HEADERS)
    assert listing.status_code == 200
    forms = _xml(listing)
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


def _instance(
    xform: ET.Element, answers: dict[str, Any], instance_id: str, deprecated: str | None = None
) -> bytes:
    """Fill the XForm's primary instance the way Collect does: one element per question."""
    model = xform.find(f".//{XFORMS_NS}model")
    assert model is not None
    primary = model.find(f"{XFORMS_NS}instance")
    assert primary is not None
    template = next(iter(primary))
    root = ET.Element(template.tag.split("}")[-1], dict(template.attrib))
    _fill(template, root, answers)
    meta = root.find("meta")
    assert meta is not None, "pyxform adds meta/instanceID"
    meta.find("instanceID").text = f"uuid:{instance_id}"  # type: ignore[union-attr]
    if deprecated is not None:
        ET.SubElement(meta, "deprecatedID").text = f"uuid:{deprecated}"
    return b"<?xml version='1.0' ?>" + ET.tostring(root, encoding="utf-8").split(b"?>", 1)[-1]


def _fill(template: ET.Element, into: ET.Element, answers: dict[str, Any]) -> None:
    for child in template:
        name = child.tag.split("}")[-1]
        if any(key.endswith("template") for key in child.attrib):
            for entry in answers.get(name, []):
                element = ET.SubElement(into, name)
                _fill(child, element, entry)
            continue
        if name in answers and isinstance(answers[name], list):
            continue  # a repeat without a template entry: filled above when it has one
        element = ET.SubElement(into, name)
        if len(child):
            _fill(child, element, answers.get(name, {}) if name != "meta" else {})
        elif name in answers:
            element.text = str(answers[name])


def _post(xml: bytes, *files: tuple[str, bytes], incomplete: bool = False) -> dict[str, Any]:
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


async def _record(client: AsyncClient, coordinator: Person) -> dict[str, Any]:
    listing = await client.get("/api/v1/projects/korat/forms/shops/records", headers=coordinator.headers)
    assert listing.status_code == 200, listing.text
    items = listing.json()["items"]
    assert len(items) == 1, items
    return items[0]


async def test_collect_lists_downloads_and_submits(client: AsyncClient, tablet: tuple[Person, str]) -> None:
    coordinator, root = tablet
    _, xform = await _download(client, root)
    manifest = await client.get(f"{root}/forms/shops/manifest", headers=HEADERS)
    assert manifest.status_code == 200
    assert _xml(manifest).tag == "{http://openrosa.org/xforms/xformsManifest}manifest"

    head = await client.head(f"{root}/submission", headers=HEADERS)
    assert head.status_code == 204
    assert int(head.headers["x-openrosa-accept-content-length"]) > 0
    assert head.headers["x-openrosa-version"] == "1.0"

    instance_id = str(uuid.uuid4())
    xml = _instance(xform, ANSWERS, instance_id)
    sent = await client.post(
        f"{root}/submission", **_post(xml, ("front.jpg", PHOTO), ("street.jpg", SECOND_PHOTO))
    )
    assert sent.status_code == 201, sent.text
    response = _xml(sent)
    assert response.tag == f"{RESPONSE_NS}OpenRosaResponse"
    message = response.find(f"{RESPONSE_NS}message")
    assert message is not None and message.get("nature") == "submit_success"
    assert message.text == "ได้รับข้อมูลแล้ว ขอบคุณครับ/ค่ะ"  # the form is Thai first

    record = await _record(client, coordinator)
    answers = record["answers"]
    assert answers["shop_name"] == "ร้านป้าศรี"
    assert answers["place"]["location"] == {"lat": 14.973, "lon": 102.0836, "alt": 180.0, "accuracy": 4.5}
    assert answers["place"]["opened"] == "2019-05-01"
    assert answers["goods"] == ["rice", "drinks"]
    assert answers["seats"] == 12
    assert [(p["lat"], p["lon"]) for p in answers["frontage"]] == [(14.973, 102.0836), (14.9731, 102.0838)]
    assert [s["role"] for s in answers["staff"]] == ["cook", "cashier"]
    photo = await client.get(
        f"/api/v1/projects/korat/submissions/{instance_id}/attachments/front.jpg", headers=coordinator.headers
    )
    assert photo.status_code == 200 and photo.content == PHOTO


async def test_split_upload_adds_files_and_resends_are_202(
    client: AsyncClient, tablet: tuple[Person, str]
) -> None:
    coordinator, root = tablet
    _, xform = await _download(client, root)
    instance_id = str(uuid.uuid4())
    xml = _instance(xform, ANSWERS, instance_id)
    first = await client.post(f"{root}/submission", **_post(xml, ("front.jpg", PHOTO), incomplete=True))
    assert first.status_code == 201, first.text
    second = await client.post(f"{root}/submission", **_post(xml, ("street.jpg", SECOND_PHOTO)))
    assert second.status_code == 202, second.text
    again = await client.post(f"{root}/submission", **_post(xml, ("street.jpg", SECOND_PHOTO)))
    assert again.status_code == 202
    for name, data in (("front.jpg", PHOTO), ("street.jpg", SECOND_PHOTO)):
        got = await client.get(
            f"/api/v1/projects/korat/submissions/{instance_id}/attachments/{name}",
            headers=coordinator.headers,
        )
        assert got.status_code == 200 and got.content == data
    record = await _record(client, coordinator)
    assert record["revision"] == 1


async def test_same_instance_id_with_other_xml_is_409_and_kept(
    client: AsyncClient, tablet: tuple[Person, str]
) -> None:
    coordinator, root = tablet
    _, xform = await _download(client, root)
    instance_id = str(uuid.uuid4())
    first = await client.post(f"{root}/submission", **_post(_instance(xform, ANSWERS, instance_id)))
    assert first.status_code == 201
    other = _instance(xform, {**ANSWERS, "shop_name": "another shop"}, instance_id)
    refused = await client.post(f"{root}/submission", **_post(other))
    assert refused.status_code == 409
    assert _xml(refused).find(f"{RESPONSE_NS}message").get("nature") == "error"  # type: ignore[union-attr]
    quarantine = await client.get("/api/v1/projects/korat/quarantine", headers=coordinator.headers)
    assert quarantine.status_code == 200, quarantine.text
    assert "another shop" in quarantine.text


async def test_edit_with_deprecated_id_goes_through_the_merge(
    client: AsyncClient, tablet: tuple[Person, str]
) -> None:
    coordinator, root = tablet
    _, xform = await _download(client, root)
    original = str(uuid.uuid4())
    assert (
        await client.post(f"{root}/submission", **_post(_instance(xform, ANSWERS, original)))
    ).status_code == 201
    record = await _record(client, coordinator)
    # a coordinator corrects the seats meanwhile; the volunteer's offline edit changes the name
    edited = await client.patch(
        f"/api/v1/projects/korat/records/{record['record_id']}",
        json={"base_revision": 1, "answers": {"seats": 14}},
        headers=coordinator.headers,
    )
    assert edited.status_code == 200, edited.text
    edit = _instance(
        xform, {**ANSWERS, "shop_name": "ร้านป้าศรี (สาขา 2)"}, str(uuid.uuid4()), deprecated=original
    )
    sent = await client.post(f"{root}/submission", **_post(edit))
    assert sent.status_code == 201, sent.text
    merged = await _record(client, coordinator)
    assert merged["record_id"] == record["record_id"]
    assert merged["answers"]["shop_name"] == "ร้านป้าศรี (สาขา 2)"
    assert merged["answers"]["seats"] == 14
    assert merged["revision"] == 3


async def test_an_answer_that_does_not_fit_is_stored_in_the_quarantine_with_201(
    client: AsyncClient, tablet: tuple[Person, str]
) -> None:
    coordinator, root = tablet
    _, xform = await _download(client, root)
    bad = _instance(xform, {**ANSWERS, "place": {"location": "not a place"}}, str(uuid.uuid4()))
    sent = await client.post(
        f"{root}/submission", headers={**HEADERS, "Accept-Language": "en-GB,en"}, files=_post(bad)["files"]
    )
    assert sent.status_code == 201, sent.text
    text = _xml(sent).findtext(f"{RESPONSE_NS}message") or ""
    assert "kept for a coordinator to check" in text
    quarantine = await client.get("/api/v1/projects/korat/quarantine", headers=coordinator.headers)
    assert "not a place" in quarantine.text


async def test_wrong_key_is_403_and_unknown_project_404(
    client: AsyncClient, tablet: tuple[Person, str]
) -> None:
    listing = await client.get("/openrosa/key/sv_not-a-token/projects/korat/formList", headers=HEADERS)
    assert listing.status_code == 403
    assert listing.headers["x-openrosa-version"] == "1.0"
    _, root = tablet
    missing = await client.get(root.replace("/korat", "/nowhere") + "/formList", headers=HEADERS)
    assert missing.status_code == 404


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
    assert list(_xml(listing)) == []


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
    url = _xml(listed).find(f"{LIST_NS}xform/{LIST_NS}downloadUrl")
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
    sent = await client.post(f"{root}/submission", **_post(xml))
    assert sent.status_code == 400, sent.text
    assert _xml(sent).find(f"{RESPONSE_NS}message") is not None


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
    too_big = await client.post(f"{root}/submission", **_post(huge_text))
    assert too_big.status_code == 413
    assert too_big.headers["x-openrosa-version"] == "1.0"


async def test_an_external_select_gets_its_itemsets_csv_in_the_manifest(client: AsyncClient, member) -> None:
    """Collect reads a `select_one_external` question's choices from the form's `itemsets.csv`."""
    coordinator = await member("coordinator")
    volunteer = await member("volunteer")
    workbook = build_xlsx(
        [
            ["type", "name", "label", "choice_filter"],
            ["select_one district", "district", "District", ""],
            ["select_one_external subdistrict", "subdistrict", "Subdistrict", "district=${district}"],
        ],
        [
            ["list_name", "name", "label"],
            ["district", "muang", "Mueang"],
            ["district", "pakchong", "Pak Chong"],
        ],
        [["form_id", "version"], ["places", "1"]],
        external_choices=[
            ["list_name", "name", "label", "district"],
            ["subdistrict", "naimuang", "Nai Mueang", "muang"],
            ["subdistrict", "klangdong", "Klang Dong", "pakchong"],
        ],
    )
    uploaded = await client.post(
        "/api/v1/projects/korat/forms",
        files={"file": ("places.xlsx", workbook, XLSX)},
        headers=coordinator.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    published = await client.post(
        "/api/v1/projects/korat/forms/places/versions/1/publish", headers=coordinator.headers
    )
    assert published.status_code == 200, published.text
    root = f"/openrosa/key/{volunteer.token}/projects/korat"
    entry = _xml(await client.get(f"{root}/formList", headers=HEADERS)).find(f"{LIST_NS}xform")
    assert entry is not None and entry.findtext(f"{LIST_NS}manifestUrl", "").endswith(
        "/forms/places/manifest"
    )
    manifest = _xml(await client.get(f"{root}/forms/places/manifest", headers=HEADERS))
    files = manifest.findall("{http://openrosa.org/xforms/xformsManifest}mediaFile")
    assert [f.findtext("{http://openrosa.org/xforms/xformsManifest}filename") for f in files] == [
        "itemsets.csv"
    ]
    url = files[0].findtext("{http://openrosa.org/xforms/xformsManifest}downloadUrl") or ""
    itemsets = await client.get(url.removeprefix("http://survey.test"), headers=HEADERS)
    assert itemsets.status_code == 200
    assert files[0].findtext("{http://openrosa.org/xforms/xformsManifest}hash") == (
        "md5:" + hashlib.md5(itemsets.content).hexdigest()
    )
    assert b"klangdong" in itemsets.content and b"pakchong" in itemsets.content
