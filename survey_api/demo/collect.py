"""The demo's ODK Collect: a tablet that lists the forms, downloads the sidewalk audit's XForm, fills
it in and sends each instance with its photo over OpenRosa, as Collect does.

The instance is the XForm's primary instance filled in (`instance_xml`), which `benchmarks/openrosa.py`
and the OpenRosa tests use too: Collect writes one element per question of the primary instance, in
its order; a repeat's `jr:template` entry is the blank it copies once per entry; `meta/instanceID` is
`uuid:` and the instance's id, and an edit adds `meta/deprecatedID` naming the instance it replaces.
"""

from __future__ import annotations

import io
import random
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

import segno

from survey_api.demo import campaign as c
from survey_api.demo.server import Api, DemoError

XFORMS = "{http://www.w3.org/2002/xforms}"
LIST = "{http://openrosa.org/xforms/xformsList}"
SHOPS = 3  # instances the demo's Collect tablet sends


def template_of(xform: bytes) -> ET.Element:
    """The root element of the XForm's primary instance."""
    model = ET.fromstring(xform).find(f".//{XFORMS}model")
    primary = model.find(f"{XFORMS}instance") if model is not None else None
    if primary is None or len(primary) == 0:
        raise ValueError("not an XForm: no model with a primary instance")
    return primary[0]


def instance_xml(
    template: ET.Element, answers: dict[str, Any], instance_id: str, deprecated: str | None = None
) -> bytes:
    """The filled instance: answers by element name, a group as a dict, a repeat as a list of dicts."""
    root = ET.Element(template.tag.split("}")[-1], dict(template.attrib))
    fill(template, root, answers)
    meta = root.find("meta")
    if meta is None or meta.find("instanceID") is None:
        raise ValueError("the XForm's instance has no meta/instanceID (pyxform always adds one)")
    meta.find("instanceID").text = f"uuid:{instance_id}"  # type: ignore[union-attr]
    if deprecated is not None:
        ET.SubElement(meta, "deprecatedID").text = f"uuid:{deprecated}"
    return b"<?xml version='1.0' ?>" + ET.tostring(root, encoding="utf-8").split(b"?>", 1)[-1]


def fill(template: ET.Element, into: ET.Element, answers: dict[str, Any]) -> None:
    for child in template:
        name = child.tag.split("}")[-1]
        if any(key.endswith("template") for key in child.attrib):
            for entry in answers.get(name, []):
                fill(child, ET.SubElement(into, name), entry)
            continue
        if isinstance(answers.get(name), list):
            continue  # a repeat without a template entry: filled above when it has one
        element = ET.SubElement(into, name)
        if len(child):
            fill(child, element, answers.get(name, {}) if name != "meta" else {})
        elif name in answers:
            element.text = str(answers[name])


def send_from_collect(api: Api, slug: str, token: str, rng: random.Random) -> dict[str, int]:
    """A volunteer's Collect tablet sends `SHOPS` sidewalk audits, each with a photo of the shop front;
    the count of each status the server answered (201 stored)."""
    api = Api(api.base)  # Collect sends no bearer token: the key is in the URL
    root = f"/openrosa/key/{token}/projects/{slug}"
    listing = _xml(api, f"{root}/formList")
    url = next(
        (
            x.findtext(f"{LIST}downloadUrl")
            for x in listing.iter(f"{LIST}xform")
            if x.findtext(f"{LIST}formID") == c.AUDIT
        ),
        None,
    )
    if not url:
        raise DemoError(f"the form list offers no {c.AUDIT!r} to ODK Collect")
    status, xform = api.send("GET", url)
    if status != 200:
        raise DemoError(f"the XForm of {c.AUDIT!r} answered {status}")
    template = template_of(xform)
    statuses: Counter[str] = Counter()
    for k in range(SHOPS):
        answers = _as_text(c.audit_answers(rng, 300 + k))  # places the JSON sync's audits do not use
        answers["shopfront"] = photo = f"shopfront-{k + 1}.png"
        instance_id = str(uuid.uuid5(c.NAMESPACE, f"{slug}/collect-{k}"))
        parts = [
            (
                "xml_submission_file",
                "submission.xml",
                "text/xml",
                instance_xml(template, answers, instance_id),
            ),
            (photo, photo, "image/png", _picture(answers["shop_name"])),
        ]
        status, data = api.post_parts(f"{root}/submission", parts)
        if status not in (201, 202):
            raise DemoError(
                f"ODK Collect's submission was answered {status}: {data[:300].decode(errors='replace')}"
            )
        statuses[str(status)] += 1
    return dict(statuses)


def _xml(api: Api, path: str) -> ET.Element:
    status, data = api.send("GET", path)
    if status != 200:
        raise DemoError(f"GET {path} -> {status}: {data[:300].decode(errors='replace')}")
    return ET.fromstring(data)


def _as_text(answers: dict[str, Any]) -> dict[str, Any]:
    """The sync's typed answers as Collect writes them: `lat lon alt accuracy`, choices joined by spaces."""
    out: dict[str, Any] = {}
    for name, value in answers.items():
        if isinstance(value, dict) and "lat" in value:
            out[name] = f"{value['lat']} {value['lon']} 0 {value.get('accuracy', 0)}"
        elif isinstance(value, list):
            out[name] = " ".join(value)
        else:
            out[name] = str(value)
    return out


def _picture(text: str) -> bytes:
    """A PNG to stand for the photo: a QR code of the shop's name."""
    out = io.BytesIO()
    segno.make(text).save(out, kind="png", scale=6)
    return out.getvalue()
