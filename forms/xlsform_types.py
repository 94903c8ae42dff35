"""XLSForm type names as our field types, taken from pyxform's own type table rather than written by hand.

pyxform accepts many names for one question type (`gps`, `location`, `q geopoint`, `add location
prompt` all make the same XForm question). Names whose pyxform definitions are the same are one
type, so the table below follows pyxform: a name new in a later pyxform is understood as soon as
its definition matches one we read.
"""

from typing import Any

from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

from forms.model import FIELD_TYPES, METADATA_KINDS

READINGS = {
    # pyxform names with no field type of the same name: what the server stores them as
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "start": "datetime",
    "end": "datetime",
    "today": "date",
    "range": "decimal",  # a range may step in fractions
    "barcode": "text",
}
PROPERTY_TEXT = "property"  # device and user properties (deviceid, username, ...) are text answers
EXTERNAL_SELECTS = {
    # the same XForm question as `text`, but its answer is one value of a list on the
    # external_choices sheet: the server reads it as the select it is
    "select one external": "select_one",
}


def _signature(spec: dict[str, Any]) -> tuple[Any, ...]:
    """What makes a pyxform type what it is; a default constraint or hint does not (`phone number`)."""
    bind, control = spec.get("bind") or {}, spec.get("control") or {}
    return (
        bind.get("type"),
        bind.get("readonly"),
        bind.get("jr:preload"),
        bind.get("jr:preloadParams"),
        control.get("tag"),
        control.get("mediatype"),
    )


def _table() -> dict[str, str]:
    ours: dict[tuple[Any, ...], str] = {}
    for name, spec in QUESTION_TYPE_DICT.items():
        target = name if name in FIELD_TYPES else READINGS.get(name)
        if target is not None:
            ours.setdefault(_signature(spec), target)
    table: dict[str, str] = {}
    for name, spec in QUESTION_TYPE_DICT.items():
        target = ours.get(_signature(spec))
        if (spec.get("bind") or {}).get("jr:preload") == PROPERTY_TEXT:
            target = "text"
        if target is not None:
            table[name] = target
    return table | EXTERNAL_SELECTS


TYPES = _table()
"""pyxform type name -> our field type, for every name the server reads."""
DEFAULT_CONSTRAINTS = {
    name: spec["bind"]["constraint"]
    for name, spec in QUESTION_TYPE_DICT.items()
    if name in TYPES and (spec.get("bind") or {}).get("constraint")
}
"""The rule a type carries by itself (`phone number`: digits only), kept when the row sets none."""


def _metadata_table() -> dict[str, str]:
    """pyxform's metadata types are the ones it preloads (`jr:preloadParams`: start, deviceid, ...)."""
    table = {}
    for name, spec in QUESTION_TYPE_DICT.items():
        bind = spec.get("bind") or {}
        kind = str(bind.get("jr:preloadParams") or "").removeprefix("uri:")
        if bind.get("jr:preload") and kind in METADATA_KINDS:
            table[name] = kind
    return table | {"audit": "audit"}  # the audit log's file: pyxform places it in the meta block


METADATA = _metadata_table()
"""pyxform type name -> metadata kind (`start time` -> start, `imei` -> deviceid)."""


def field_type(name: str) -> str:
    """Our type for a pyxform type name; a name we do not read is returned as written, for the check."""
    return TYPES.get(name, READINGS.get(name, name))


def unread() -> list[str]:
    """pyxform's type names the server does not take yet (reported by the corpus benchmark)."""
    return sorted(name for name in QUESTION_TYPE_DICT if name not in TYPES)
