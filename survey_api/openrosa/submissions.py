"""A submission from ODK Collect or Enketo: the XML instance becomes the item the JSON sync takes.

It goes through the same intake (validation, duplicates, three-way merge, quarantine) as one item
of a batch, so nothing about it is judged differently; its files go to the media store afterwards.
Collect splits a large submission into several POSTs that repeat the XML (`*isIncomplete*=yes`):
the second and later are identical resends (202) that add their files, so the files add up
whatever order the parts arrive in and however often one is retried.

`<meta><deprecatedID>` names the instance an edit replaces: the record and revision that instance
produced become the edit's `record_id` and `base_revision`, so an edit made on an older copy goes
through the three-way merge rather than being refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Request

from forms.instance_xml import Instance, InstanceError, identify, parse, read
from forms.model import FormDefinition, load_definition
from survey_api.db.session import unit_of_work
from survey_api.errors import Malformed, Unavailable
from survey_api.intake import ingest as intake
from survey_api.intake.attachments import attach
from survey_api.openrosa import messages
from survey_api.stores import forms as forms_store
from survey_api.stores import submissions
from survey_api.web.access import ProjectAccess
from sync import batch as wire
from sync.batch import BatchResult, ItemResult

XML_PART = "xml_submission_file"
INCOMPLETE = "*isIncomplete*"


class File(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    content_type: str
    data: bytes


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What the door answers: the status Collect reads and the sentence it shows."""

    status: int
    message: str
    result: ItemResult | None = None


async def receive(
    request: Request, access: ProjectAccess, xml: bytes, files: list[File], accept_language: str | None
) -> Outcome:
    state = request.app.state
    try:
        root = parse(xml)
        form_id, version = identify(root)
    except InstanceError as exc:
        raise Malformed(str(exc)) from None
    async with unit_of_work(state.sessionmaker) as db:
        definition = await _definition(db, access, form_id, version)
        try:
            instance = read(root, definition)
        except InstanceError as exc:
            raise Malformed(str(exc)) from None
        edit = await _edit_of(db, instance.deprecated_id)
    body = msgspec.json.encode(
        {"device_id": _device(instance, definition), "submissions": [_item(instance, edit)]}
    )
    result = await _ingest(request, access, body)
    thai = messages.wants_thai(accept_language, definition.default_language if definition else None)
    if result.status == wire.REJECTED and any(e.code == "uuid_conflict" for e in result.errors):
        return Outcome(status=409, message=messages.say(messages.REUSED_ID, thai), result=result)
    if files:
        async with unit_of_work(state.sessionmaker) as db:
            for file in files:
                await attach(
                    db,
                    state.media,
                    access,
                    instance.instance_id,
                    file.name,
                    file.content_type,
                    file.data,
                    access.user.id,
                    state.settings,
                )
    if result.status == wire.DUPLICATE:
        return Outcome(status=202, message=messages.say(messages.RESENT, thai), result=result)
    reason = result.errors[0].message if result.errors else ""
    return Outcome(
        status=201, message=messages.say(messages.STORED[result.status], thai, reason=reason), result=result
    )


async def _definition(
    db: Any, access: ProjectAccess, form_id: str, version: str | None
) -> FormDefinition | None:
    """The version the instance names; None when the server does not know it (the intake says so)."""
    form = await forms_store.form(db, access.id, form_id)
    if form is None or version is None:
        return None
    row = await forms_store.version(db, form.id, version)
    if row is None or row.status != "published":
        return None
    return load_definition(row.definition)


async def _edit_of(db: Any, deprecated_id: str | None) -> tuple[str, int] | None:
    """The record and revision the replaced instance produced, if the server stored it as a record."""
    if deprecated_id is None:
        return None
    found = (await submissions.earlier(db, [deprecated_id])).get(deprecated_id)
    result = found[1] if found else None
    if not result or not result.get("record_id") or not result.get("revision"):
        return None
    return str(result["record_id"]), int(result["revision"])


def _item(instance: Instance, edit: tuple[str, int] | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "uuid": instance.instance_id,
        "form": instance.form_id,
        "version": instance.version or "",
        "answers": instance.answers,
    }
    if edit is not None:
        item["record_id"], item["base_revision"] = edit
    for key, name in (("started_at", "start"), ("ended_at", "end")):
        when = _datetime(instance.answers.get(name))
        if when is not None:
            item[key] = when
    return item


def _datetime(value: Any) -> str | None:
    """A `start`/`end` the tablet wrote, when it reads as a date-time with its offset."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.isoformat() if parsed.tzinfo is not None else None


def _device(instance: Instance, definition: FormDefinition | None) -> str | None:
    names = [n for n, kind in (definition.metadata if definition else {}).items() if kind == "deviceid"]
    for name in names or ["deviceid"]:
        value = instance.answers.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


async def _ingest(request: Request, access: ProjectAccess, body: bytes) -> ItemResult:
    """One item through the same intake as a JSON batch: in a helper process where there are some."""
    state = request.app.state
    if state.helpers is not None:
        reply = await state.helpers.push(access, body, "json", False)
        if reply.status_code != 200:
            raise Unavailable(
                f"The submission could not be judged now (status {reply.status_code}); send it again."
            )
        result = msgspec.json.decode(reply.content, type=BatchResult)
    else:
        async with unit_of_work(state.sessionmaker) as db:
            result = await intake.ingest(db, access, body, "json", state.validators)
    return result.results[0]
