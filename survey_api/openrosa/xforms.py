"""A published version's XForm: compiled once (at publish, or on first need for a version published
before XForms were kept), stored, and from then on served as the same bytes with the same md5, so
ODK Collect sees a form as changed exactly when a new version is published.

pyxform is CPU work (hundreds of milliseconds for a large form), so it runs in a thread. A form it
refuses is still published: JSON tablets fill it; only ODK Collect, KoboCollect and Enketo miss it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from forms.model import load_definition
from forms.xform import XFormError, compile_xform_files
from survey_api.db import tables
from survey_api.db.session import Session
from survey_api.stores import form_media, forms

log = logging.getLogger(__name__)
NOT_OFFERED = "this version is not offered to ODK Collect, KoboCollect or Enketo"


async def ensure_xform(db: Session, row: tables.FormVersion) -> tuple[bytes, str] | None:
    """The version's stored XForm and its md5 (hex), compiled and stored first if it has none yet;
    None (logged) when pyxform refuses the form."""
    stored = await forms.xform(db, row.id)
    if stored is not None:
        return stored
    if any(isinstance(w, str) and w.startswith(NOT_OFFERED) for w in row.warnings or []):
        return None  # refused at publish: not compiled again on every form list a tablet asks for
    made = await _compile_and_store(db, row)
    return None if isinstance(made, XFormError) else made


async def publish_warning(db: Session, row: tables.FormVersion) -> str | None:
    """Compile and store the XForm of a version being published; the warning to add to the version
    when there can be none (the version is published all the same)."""
    made = await _compile_and_store(db, row)
    if not isinstance(made, XFormError):
        return None
    return f"{NOT_OFFERED} (no XForm could be made of it; tablets using this server's JSON API can fill it): {made}"


async def _compile_and_store(db: Session, row: tables.FormVersion) -> tuple[bytes, str] | XFormError:
    definition = load_definition(row.definition)
    workbook = await forms.workbook(db, row.id)
    data, media = workbook if workbook is not None else (None, None)
    try:
        xform, files = await asyncio.to_thread(compile_xform_files, definition, data, media)
    except XFormError as exc:
        log.warning("no XForm for %s@%s: %s", definition.key, row.version, exc)
        return exc
    md5 = hashlib.md5(xform, usedforsecurity=False).hexdigest()  # the hash OpenRosa form lists name
    await forms.set_xform(db, row.id, xform, md5)
    attached = {m.name for m in await form_media.listing(db, row.id)}
    for name, content in files.items():  # itemsets.csv: in the manifest, unless the author attached one
        if name not in attached:
            await form_media.put(
                db,
                row.id,
                name=name,
                data=content,
                media_type="text/csv",
                sha256=hashlib.sha256(content).hexdigest(),
                user_id=row.created_by,
            )
    return xform, md5
