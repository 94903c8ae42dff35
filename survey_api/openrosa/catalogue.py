"""The forms a tablet may fill, as OpenRosa lists them: the latest published version of each form.

The list's `hash` is the md5 of the XForm bytes stored at publish, so Collect sees a form as updated
exactly when a new version is published. A version published before XForms were stored gets its
XForm on first listing, once. A form pyxform cannot compile is left out of the list (its publish
response said why); JSON tablets still get it.
"""

from __future__ import annotations

import hashlib

from forms.choice_lists import list_files
from forms.model import label_text, load_definition
from survey_api.db import tables
from survey_api.db.session import Session
from survey_api.errors import NotFound
from survey_api.openrosa.documents import ListedForm, MediaEntry
from survey_api.openrosa.xforms import ensure_xform
from survey_api.stores import form_media
from survey_api.stores import forms as forms_store
from survey_api.web.access import ProjectAccess


async def listed(db: Session, access: ProjectAccess, base: str, only: str | None) -> list[ListedForm]:
    """`base`: the URL of the project's OpenRosa root, as the tablet reached it."""
    out = []
    for key, row in await forms_store.catalogue(db, access.id):
        if only is not None and key != only:
            continue
        stored = await ensure_xform(db, row)
        if stored is None:
            continue
        _, md5 = stored
        definition = load_definition(row.definition)
        media = await form_media.listing(db, row.id)
        out.append(
            ListedForm(
                form_id=key,
                name=label_text(definition.title, definition.default_language, definition.default_language)
                or key,
                version=row.version,
                md5=md5,
                download_url=f"{base}/forms/{key}.xml",
                manifest_url=f"{base}/forms/{key}/manifest" if media or list_files(definition) else None,
            )
        )
    return out


async def xform(db: Session, access: ProjectAccess, key: str) -> bytes:
    row = await _latest(db, access, key)
    stored = await ensure_xform(db, row)
    if stored is None:
        raise NotFound(f"Form {key!r} has no XForm: pyxform could not compile it (see its publish warnings).")
    return stored[0]


async def manifest(db: Session, access: ProjectAccess, key: str, base: str) -> list[MediaEntry]:
    """The version's files (CSV lists, images) with their md5; empty when it has none."""
    row = await _latest(db, access, key)
    names = [m.name for m in await form_media.listing(db, row.id)]
    contents = await form_media.contents(db, row.id, names)
    return [
        MediaEntry(
            filename=name,
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            download_url=f"{base}/forms/{key}/media/{name}",
        )
        for name, data in sorted(contents.items())
    ]


async def media_file(db: Session, access: ProjectAccess, key: str, name: str) -> tuple[bytes, str]:
    row = await _latest(db, access, key)
    found = {m.name: m for m in await form_media.listing(db, row.id)}.get(name)
    if found is None:
        raise NotFound(f"Form {key!r} has no file {name!r}.")
    data = (await form_media.contents(db, row.id, [name]))[name]
    return data, found.media_type


async def _latest(db: Session, access: ProjectAccess, key: str) -> tables.FormVersion:
    form = await forms_store.form(db, access.id, key)
    row = await forms_store.latest_published(db, form.id) if form is not None else None
    if row is None:
        raise NotFound(f"Form {key!r} has no published version in {access.slug!r}.")
    return row
