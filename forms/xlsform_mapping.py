"""pyxform's JSON for one workbook as our definition's plain data: fields, choices and what they keep.

Labels, hints and media are per language (`label::Thai (th)` is stored under `th`); bind and
control attributes (required, readonly, repeat_count, ...) become the Field's own attributes.
"""

import re
from typing import Any

from pyxform import aliases

from forms.choice_lists import lang_code
from forms.xlsform_types import DEFAULT_CONSTRAINTS, METADATA, field_type

_lang = lang_code
_CHOICE_KEYS = frozenset({"name", "label", "media"})
_PARAMETER = re.compile(r"([\w-]+)\s*=\s*([^\s,;]+)")


class Mapper:
    def __init__(self, default_lang: str | None, or_other: set[str]) -> None:
        self.default_lang = default_lang
        self.or_other = or_other
        self.metadata: dict[str, str] = {}
        """Top-level metadata rows (and those of pyxform's `meta` block) by name, filled by `fields`."""

    def label(self, value: Any) -> str | dict[str, str] | None:
        if value is None or isinstance(value, str):
            return value
        out = {
            _lang(k) if k != "default" else (self.default_lang or "default"): str(v) for k, v in value.items()
        }
        if list(out) == ["default"]:
            return out["default"]
        return out

    def media(self, value: Any) -> dict[str, Any] | None:
        """Media labels by kind (`image`, `audio`, `video`, `big-image`), each a file name or one per language."""
        if not isinstance(value, dict) or not value:
            return None
        return {str(kind): self.label(files) for kind, files in value.items()}

    def choice(self, raw: dict[str, Any]) -> dict[str, Any]:
        columns = {
            str(k): str(v)
            for k, v in raw.items()
            if k not in _CHOICE_KEYS and isinstance(v, str | int | float)
        }
        choice = {
            "value": str(raw.get("name", "")),
            "label": self.label(raw.get("label")),
            "media": self.media(raw.get("media")),
            "columns": columns or None,
        }
        return {k: v for k, v in choice.items() if v is not None}

    def fields(self, children: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
        out = []
        for child in children:
            if child.get("name") == "meta" and child.get("control", {}).get("bodyless"):
                if not prefix:
                    self.meta_block(child.get("children") or [])
                continue
            kind = METADATA.get(str(child.get("type", "")))
            if kind is not None and not prefix:  # inside a group it stays the field it was
                self.metadata[str(child.get("name", ""))] = kind
                continue
            out.append(self.field(child, prefix))
        return out

    def meta_block(self, children: list[dict[str, Any]]) -> None:
        """pyxform's generated `meta` group: its instanceID is the submission's uuid; `audit` is metadata."""
        for child in children:
            kind = METADATA.get(str(child.get("type", "")))
            if kind is not None:
                self.metadata[str(child.get("name", ""))] = kind

    def field(self, raw: dict[str, Any], prefix: str) -> dict[str, Any]:
        bind = raw.get("bind") or {}
        control = raw.get("control") or {}
        name = str(raw.get("name", ""))
        written = str(raw.get("type", ""))
        kind = field_type(written)
        relevant = bind.get("relevant")
        if relevant and "../" in relevant:  # pyxform's generated or_other text field
            relevant = re.sub(r"\.\./([\w.-]+)", r"${\1}", relevant)
        field: dict[str, Any] = {
            "name": name,
            "type": kind,
            "label": self.label(raw.get("label")),
            "hint": self.label(raw.get("hint")),
            "guidance_hint": self.label(raw.get("guidance_hint")),
            "media": self.media(raw.get("media")),
            "required": yes(bind.get("required")),
            "required_message": self.label(bind.get("jr:requiredMsg")),
            "readonly": readonly(bind.get("readonly")),
            "relevant": relevant,
            "constraint": bind.get("constraint") or DEFAULT_CONSTRAINTS.get(written),
            "constraint_message": self.label(bind.get("jr:constraintMsg")),
            "calculation": bind.get("calculate"),
            "choices": raw.get("itemset") or raw.get("list_name"),
            "choice_filter": raw.get("choice_filter") or None,
            "or_other": prefix + name in self.or_other,
            "sensitive": yes(raw.get("sensitive")),
            "renamed_from": raw.get("renamed_from"),
            "appearance": control.get("appearance"),
            "default": raw.get("default"),
            "parameters": parameters(raw.get("parameters")),
            "repeat_count": control.get("jr:count") if kind == "repeat" else None,
        }
        if kind in ("group", "repeat"):
            field["fields"] = self.fields(raw.get("children", []), f"{prefix}{name}/")
        return {k: v for k, v in field.items() if v is not None}


def parameters(value: Any) -> dict[str, str] | None:
    """pyxform parses `parameters` only for the types that take some; the others keep the raw text."""
    if isinstance(value, dict):
        found = {str(k): str(v) for k, v in value.items()}
    else:
        found = dict(_PARAMETER.findall(str(value or "")))
    return found or None


def readonly(value: Any) -> bool | str | None:
    """`yes` is True; an expression is kept for the tablet; `no` or nothing is left out."""
    if value is None or not str(value).strip() or aliases.yes_no.get(str(value).strip()) is False:
        return None
    return True if yes(value) or str(value).strip() == "true()" else str(value).strip()


def yes(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return bool(value) and (aliases.yes_no.get(str(value).strip(), False) or str(value).strip() == "1")
