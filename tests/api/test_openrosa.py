"""ODK Collect's exchange with the server, replayed as Collect sends it.

Collect lists forms (`formList`), downloads the XForm and checks its md5 against the list, fetches
the manifest, asks `HEAD .../submission` for the largest POST, then POSTs the instance as multipart
(`xml_submission_file` plus one part per photo), splitting big ones with `*isIncomplete*=yes`. Its
parser is namespace-aware and it treats only 201 and 202 as success, so both are checked here.
The instance is built the way Collect builds it: from the primary instance of the XForm served.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import uuid
from pathlib import Path

import pytest
from httpx import AsyncClient

from tests.api.openrosa import (
    ANSWERS,
    HEADERS,
    LIST_NS,
    PHOTO,
    RESPONSE_NS,
    SECOND_PHOTO,
    download,
    instance,
    post,
    publish_shops,
    record_of,
    xml_of,
)
from tests.factories import Person
from tests.forms.test_xform_conformance import ENKETO, ODK_VALIDATE
from tests.tools import need, unavailable
from tests.workbooks import XLSX, build_xlsx

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def tablet(client: AsyncClient, member) -> tuple[Person, str]:
    return await publish_shops(client, member)


async def test_collect_lists_downloads_and_submits(client: AsyncClient, tablet: tuple[Person, str]) -> None:
    coordinator, root = tablet
    _, xform = await download(client, root)
    manifest = await client.get(f"{root}/forms/shops/manifest", headers=HEADERS)
    assert manifest.status_code == 200
    assert xml_of(manifest).tag == "{http://openrosa.org/xforms/xformsManifest}manifest"

    head = await client.head(f"{root}/submission", headers=HEADERS)
    assert head.status_code == 204
    assert int(head.headers["x-openrosa-accept-content-length"]) > 0
    assert head.headers["x-openrosa-version"] == "1.0"

    instance_id = str(uuid.uuid4())
    xml = instance(xform, ANSWERS, instance_id)
    sent = await client.post(
        f"{root}/submission", **post(xml, ("front.jpg", PHOTO), ("street.jpg", SECOND_PHOTO))
    )
    assert sent.status_code == 201, sent.text
    response = xml_of(sent)
    assert response.tag == f"{RESPONSE_NS}OpenRosaResponse"
    message = response.find(f"{RESPONSE_NS}message")
    assert message is not None and message.get("nature") == "submit_success"
    assert message.text == "ได้รับข้อมูลแล้ว ขอบคุณครับ/ค่ะ"  # the form is Thai first

    record = await record_of(client, coordinator)
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
    _, xform = await download(client, root)
    instance_id = str(uuid.uuid4())
    xml = instance(xform, ANSWERS, instance_id)
    first = await client.post(f"{root}/submission", **post(xml, ("front.jpg", PHOTO), incomplete=True))
    assert first.status_code == 201, first.text
    second = await client.post(f"{root}/submission", **post(xml, ("street.jpg", SECOND_PHOTO)))
    assert second.status_code == 202, second.text
    again = await client.post(f"{root}/submission", **post(xml, ("street.jpg", SECOND_PHOTO)))
    assert again.status_code == 202
    for name, data in (("front.jpg", PHOTO), ("street.jpg", SECOND_PHOTO)):
        got = await client.get(
            f"/api/v1/projects/korat/submissions/{instance_id}/attachments/{name}",
            headers=coordinator.headers,
        )
        assert got.status_code == 200 and got.content == data
    record = await record_of(client, coordinator)
    assert record["revision"] == 1


async def test_same_instance_id_with_other_xml_is_409_and_kept(
    client: AsyncClient, tablet: tuple[Person, str]
) -> None:
    coordinator, root = tablet
    _, xform = await download(client, root)
    instance_id = str(uuid.uuid4())
    first = await client.post(f"{root}/submission", **post(instance(xform, ANSWERS, instance_id)))
    assert first.status_code == 201
    other = instance(xform, {**ANSWERS, "shop_name": "another shop"}, instance_id)
    refused = await client.post(f"{root}/submission", **post(other))
    assert refused.status_code == 409
    assert xml_of(refused).find(f"{RESPONSE_NS}message").get("nature") == "error"  # type: ignore[union-attr]
    quarantine = await client.get("/api/v1/projects/korat/quarantine", headers=coordinator.headers)
    assert quarantine.status_code == 200, quarantine.text
    assert "another shop" in quarantine.text


async def test_edit_with_deprecated_id_goes_through_the_merge(
    client: AsyncClient, tablet: tuple[Person, str]
) -> None:
    coordinator, root = tablet
    _, xform = await download(client, root)
    original = str(uuid.uuid4())
    assert (
        await client.post(f"{root}/submission", **post(instance(xform, ANSWERS, original)))
    ).status_code == 201
    record = await record_of(client, coordinator)
    # a coordinator corrects the seats meanwhile; the volunteer's offline edit changes the name
    edited = await client.patch(
        f"/api/v1/projects/korat/records/{record['record_id']}",
        json={"base_revision": 1, "answers": {"seats": 14}},
        headers=coordinator.headers,
    )
    assert edited.status_code == 200, edited.text
    edit = instance(
        xform, {**ANSWERS, "shop_name": "ร้านป้าศรี (สาขา 2)"}, str(uuid.uuid4()), deprecated=original
    )
    sent = await client.post(f"{root}/submission", **post(edit))
    assert sent.status_code == 201, sent.text
    merged = await record_of(client, coordinator)
    assert merged["record_id"] == record["record_id"]
    assert merged["answers"]["shop_name"] == "ร้านป้าศรี (สาขา 2)"
    assert merged["answers"]["seats"] == 14
    assert merged["revision"] == 3


async def test_an_answer_that_does_not_fit_is_stored_in_the_quarantine_with_201(
    client: AsyncClient, tablet: tuple[Person, str]
) -> None:
    coordinator, root = tablet
    _, xform = await download(client, root)
    bad = instance(xform, {**ANSWERS, "place": {"location": "not a place"}}, str(uuid.uuid4()))
    sent = await client.post(
        f"{root}/submission", headers={**HEADERS, "Accept-Language": "en-GB,en"}, files=post(bad)["files"]
    )
    assert sent.status_code == 201, sent.text
    text = xml_of(sent).findtext(f"{RESPONSE_NS}message") or ""
    assert "kept for a coordinator to check" in text
    quarantine = await client.get("/api/v1/projects/korat/quarantine", headers=coordinator.headers)
    assert "not a place" in quarantine.text


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
    entry = xml_of(await client.get(f"{root}/formList", headers=HEADERS)).find(f"{LIST_NS}xform")
    assert entry is not None and entry.findtext(f"{LIST_NS}manifestUrl", "").endswith(
        "/forms/places/manifest"
    )
    manifest = xml_of(await client.get(f"{root}/forms/places/manifest", headers=HEADERS))
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


async def test_the_xform_served_loads_in_enketo_and_passes_odk_validate(
    client: AsyncClient, tablet: tuple[Person, str], tmp_path: Path
) -> None:
    """The bytes a tablet downloads, read by Enketo's transformer and by JavaRosa (ODK Validate)."""
    _, root = tablet
    served, _ = await download(client, root)
    path = tmp_path / "shops.xml"
    path.write_bytes(served)
    need("java", "default-jre-headless")
    validated = await asyncio.to_thread(
        _run, "java", "-Djava.awt.headless=true", "-jar", str(ODK_VALIDATE), str(path)
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    need("node", "nodejs")
    if not (ENKETO / "node_modules" / "libxslt" / "build").is_dir():
        unavailable("Enketo's transformer is not installed in tests/tools/enketo (.ci/run shows how: npm ci)")
    transformed = await asyncio.to_thread(_run, "node", str(ENKETO / "transform.mjs"), str(path))
    assert json.loads(transformed.stdout.splitlines()[-1]) == {"file": str(path), "ok": True}, (
        transformed.stderr
    )


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
