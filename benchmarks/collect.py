"""ODK Collect's side of a submission: the XForm's primary instance, filled in, as the XML it sends.

Shared by `benchmarks/openrosa.py` and the OpenRosa tests (`tests/api/openrosa.py` imports it as
`benchmarks.collect`, as the end-to-end tests import `benchmarks.harness`). Collect writes one element
per question of the primary instance, in its order; a repeat's `jr:template` entry is the blank it
copies once per entry; `meta/instanceID` is `uuid:` and the instance's id, and an edit adds
`meta/deprecatedID` naming the instance it replaces.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

XFORMS = "{http://www.w3.org/2002/xforms}"


def template_of(xform: bytes) -> ET.Element:
    """The root element of the XForm's primary instance."""
    model = ET.fromstring(xform).find(f".//{XFORMS}model")
    assert model is not None, "an XForm has a model"
    primary = model.find(f"{XFORMS}instance")
    assert primary is not None, "a model has a primary instance"
    return next(iter(primary))


def instance_xml(
    template: ET.Element, answers: dict[str, Any], instance_id: str, deprecated: str | None = None
) -> bytes:
    """The filled instance: answers by element name, a group as a dict, a repeat as a list of dicts."""
    root = ET.Element(template.tag.split("}")[-1], dict(template.attrib))
    fill(template, root, answers)
    meta = root.find("meta")
    assert meta is not None, "pyxform adds meta/instanceID"
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
