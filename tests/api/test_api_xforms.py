"""Publishing keeps the version's XForm (what ODK Collect downloads) byte for byte, with its md5; a form
pyxform cannot compile is still published, for JSON tablets, and says why ODK Collect will not see it."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from survey_api.db import tables
from survey_api.openrosa import xforms
from survey_api.openrosa.xforms import ensure_xform
from tests.factories import FORM, Person
from tests.workbooks import XLSX, build_xlsx

FORMS = "/api/v1/projects/korat/forms"


async def stored(sessions: async_sessionmaker[AsyncSession], key: str, version: str) -> tables.FormVersion:
    async with sessions() as db:
        row = await db.scalar(
            select(tables.FormVersion)
            .join(tables.Form, tables.Form.id == tables.FormVersion.form_id)
            .where(tables.Form.key == key, tables.FormVersion.version == version)
        )
    assert row is not None
    return row


async def xform_of(sessions: async_sessionmaker[AsyncSession], key: str, version: str) -> tuple[Any, Any]:
    async with sessions() as db:
        found = (
            await db.execute(
                select(tables.FormVersion.xform, tables.FormVersion.xform_md5)
                .join(tables.Form, tables.Form.id == tables.FormVersion.form_id)
                .where(tables.Form.key == key, tables.FormVersion.version == version)
            )
        ).one()
    return found.xform, found.xform_md5


async def publish(client: Any, who: Person, key: str, version: str) -> Any:
    return await client.post(f"{FORMS}/{key}/versions/{version}/publish", headers=who.headers)


async def test_publishing_a_json_form_keeps_its_xform_and_md5(client, coordinator, sessionmaker) -> None:
    assert (await client.post(FORMS, json=FORM, headers=coordinator.headers)).status_code == 201
    draft, _ = await xform_of(sessionmaker, "sidewalk_audit", "v1")
    assert draft is None  # a draft may still change: its XForm is made when it is published

    published = await publish(client, coordinator, "sidewalk_audit", "v1")
    assert published.status_code == 200, published.text
    assert published.json()["warnings"] == []

    xform, md5 = await xform_of(sessionmaker, "sidewalk_audit", "v1")
    assert hashlib.md5(xform).hexdigest() == md5
    assert b'<data id="sidewalk_audit" version="v1">' in xform
    assert b"<h:title>Sidewalk audit</h:title>" in xform  # no default language: the first by code
    assert b"owner_phone" in xform
    assert b"sensitive" not in xform  # who may read an answer is the server's business, not the tablet's

    again = await publish(client, coordinator, "sidewalk_audit", "v1")  # publishing again changes nothing
    assert again.status_code == 200 and await xform_of(sessionmaker, "sidewalk_audit", "v1") == (xform, md5)


async def test_an_xlsform_keeps_its_workbooks_columns_under_the_servers_key(
    client, coordinator, sessionmaker
) -> None:
    survey = [
        ["type", "name", "label", "hint", "sensitive"],
        ["text", "shop_name", "Shop", "as on its sign", None],
        ["text", "owner_phone", "Owner's phone", None, "yes"],
    ]
    data = build_xlsx(survey, None, [["form_title"], ["Shops"]])  # no form_id, no version: the server's
    created = await client.post(
        FORMS, files={"file": ("shops.xlsx", data, XLSX)}, headers=coordinator.headers
    )
    assert created.status_code == 201, created.text
    version = created.json()["version"]
    assert (await publish(client, coordinator, "shops", version)).status_code == 200

    xform, md5 = await xform_of(sessionmaker, "shops", version)
    assert f'<data id="shops" version="{version}">'.encode() in xform
    assert b"<hint>as on its sign</hint>" in xform and b"<h:title>Shops</h:title>" in xform
    assert hashlib.md5(xform).hexdigest() == md5


async def test_a_form_pyxform_refuses_is_published_for_json_tablets_with_a_warning(
    client, coordinator, sessionmaker
) -> None:
    form = {
        "key": "greeting",
        "version": "1",
        "title": "Greeting",
        "fields": [
            {"name": "name", "type": "text"},
            {"name": "hello", "type": "note", "label": "Hello ${nobody}"},  # pyxform checks label references
        ],
    }
    assert (await client.post(FORMS, json=form, headers=coordinator.headers)).status_code == 201

    published = await publish(client, coordinator, "greeting", "1")
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    [warning] = published.json()["warnings"]
    assert "not offered to ODK Collect" in warning and "field 'hello'" in warning and "nobody" in warning
    versions = await client.get(f"{FORMS}/greeting/versions", headers=coordinator.headers)
    assert versions.json()["items"][0]["warnings"] == [warning]
    assert await xform_of(sessionmaker, "greeting", "1") == (None, None)

    tablet = await client.get(f"{FORMS}/greeting", headers=coordinator.headers)
    assert tablet.status_code == 200 and tablet.json()["version"] == "1"


async def test_a_version_published_without_an_xform_gets_one_when_first_needed(
    client, coordinator, sessionmaker
) -> None:
    assert (await client.post(FORMS, json=FORM, headers=coordinator.headers)).status_code == 201
    assert (await publish(client, coordinator, "sidewalk_audit", "v1")).status_code == 200
    row = await stored(sessionmaker, "sidewalk_audit", "v1")
    async with sessionmaker() as db, db.begin():  # as if published before XForms were kept
        await db.execute(
            tables.FormVersion.__table__.update()
            .where(tables.FormVersion.id == row.id)
            .values(xform=None, xform_md5=None)
        )

    async with sessionmaker() as db, db.begin():
        made = await ensure_xform(db, row)
    assert made is not None
    xform, md5 = made
    assert await xform_of(sessionmaker, "sidewalk_audit", "v1") == (xform, md5)
    async with sessionmaker() as db:
        assert await ensure_xform(db, row) == (xform, md5)  # kept: the same bytes every time


async def test_a_form_refused_at_publish_is_left_out_of_the_form_list_without_compiling_again(
    client, coordinator, member, monkeypatch
) -> None:
    form = {
        "key": "greeting",
        "version": "1",
        "title": "Greeting",
        "fields": [
            {"name": "hello", "type": "note", "label": "Hello ${nobody}"},
            {"name": "n", "type": "text"},
        ],
    }
    assert (await client.post(FORMS, json=form, headers=coordinator.headers)).status_code == 201
    assert (await publish(client, coordinator, "greeting", "1")).status_code == 200

    def compiled_again(*args: Any) -> None:
        raise AssertionError("a version refused at publish was compiled again for a form list")

    monkeypatch.setattr(xforms, "compile_xform_files", compiled_again)
    volunteer = await member("volunteer")
    listing = await client.get(f"/openrosa/key/{volunteer.token}/projects/korat/formList")
    assert listing.status_code == 200
    assert "<formID>audit</formID>" in listing.text  # the coordinator fixture's form, compiled at publish
    assert "greeting" not in listing.text
