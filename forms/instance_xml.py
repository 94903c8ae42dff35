"""An XForm instance, the XML that ODK Collect and Enketo submit, read into the answers the JSON sync takes.

The XML is parsed with defusedxml: a DTD, an entity or an external reference is refused before
anything is expanded (no XXE, no billion laughs). Element names are read without their namespace
(`orx:meta` is `meta`). With the form version's definition at hand, a repeat is always a list (one
entry or many) and a group a nested object, as the JSON sync sends them; without one (a form the
server does not know), the XML's own shape is kept so the quarantine holds everything it said.

Values stay text: the form's validator reads `"13.75 100.5 0 5"` as a geopoint, `"a b"` as a
select_multiple, `"lat lon alt acc;…"` as a geotrace, exactly as it reads them from JSON.
"""

from typing import Any
from xml.etree.ElementTree import Element

import msgspec
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from forms.model import MAX_DEPTH, Field, FormDefinition

META = "meta"
ID_PREFIX = "uuid:"
_MAX_XML_DEPTH = 2 * MAX_DEPTH + 4  # groups and repeats each add a level; meta and the root a few


class InstanceError(ValueError):
    """The XML cannot be read as a form instance; the message says why, for the volunteer's screen."""


class Instance(msgspec.Struct, frozen=True, kw_only=True):
    """What an instance says about itself, and its answers in the JSON sync's shape."""

    form_id: str
    version: str | None
    instance_id: str
    deprecated_id: str | None
    answers: dict[str, Any]


def parse(xml: bytes) -> Element:
    """The root element of well-formed XML with no DTD or entities; InstanceError otherwise."""
    try:
        return fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise InstanceError("The XML declares a DTD or entities; a form instance never does.") from None
    except ParseError as exc:
        raise InstanceError(f"The submission is not well-formed XML ({exc}).") from None


def identify(root: Element) -> tuple[str, str | None]:
    """The form id and version the instance names on its root element."""
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise InstanceError("The instance's root element has no 'id': which form is it?")
    version = (root.get("version") or "").strip() or None
    return form_id, version


def read(root: Element, definition: FormDefinition | None) -> Instance:
    """The instance's answers, with `meta` (instanceID, deprecatedID, instanceName) taken out."""
    form_id, version = identify(root)
    fields = _children(definition.fields) if definition is not None else None
    answers = _element(root, fields, 1)
    block = answers.get(META)
    meta = dict(block) if isinstance(block, dict) else {}
    instance_id = _bare_id(meta.pop("instanceID", None))
    if instance_id is None:
        raise InstanceError("The instance has no meta/instanceID; ODK Collect and Enketo always send one.")
    deprecated_id = _bare_id(meta.pop("deprecatedID", None))
    meta.pop("instanceName", None)
    if META in answers:
        if meta:
            answers[META] = meta  # what else pyxform placed there (audit) is kept for the metadata reader
        else:
            del answers[META]
    return Instance(
        form_id=form_id,
        version=version,
        instance_id=instance_id,
        deprecated_id=deprecated_id,
        answers=answers,
    )


def _bare_id(value: Any) -> str | None:
    """`uuid:3f0c…` as `3f0c…`: the submission's uuid, as Kobo and the JSON sync write it."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return value[len(ID_PREFIX) :] if value.lower().startswith(ID_PREFIX) else value


def _children(fields: list[Field] | None) -> dict[str, Field]:
    return {field.name: field for field in fields or []}


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _element(element: Element, fields: dict[str, Field] | None, depth: int) -> dict[str, Any]:
    """A container's children as an object; `fields` None: a container the form does not describe."""
    if depth > _MAX_XML_DEPTH:
        raise InstanceError(f"The instance nests deeper than {_MAX_XML_DEPTH} elements.")
    out: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        if not name or _is_template(child):
            continue
        field = fields.get(name) if fields is not None else None
        if field is not None and field.type == "repeat":
            entries = out.setdefault(name, [])
            if isinstance(entries, list):
                entries.append(_element(child, _children(field.fields), depth + 1))
            continue
        if field is not None and field.type == "group":
            out[name] = _element(child, _children(field.fields), depth + 1)
            continue
        if field is not None or len(child) == 0:
            value: Any = _text(child)
        else:  # a container the form does not describe (meta, or a form the server does not know)
            value = _element(child, None, depth + 1)
        if name in out and field is None:  # a name said twice outside a known repeat: a list
            earlier = out[name]
            out[name] = [*earlier, value] if isinstance(earlier, list) else [earlier, value]
        else:
            out[name] = value
    return out


def _is_template(element: Element) -> bool:
    """A repeat's `jr:template` entry is the blank the tablet copies, never an answer."""
    return any(_local(key) == "template" for key in element.attrib)


def _text(element: Element) -> str:
    return "".join(element.itertext()).strip()
