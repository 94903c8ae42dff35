"""A definition written back as XLSForm sheet rows (survey, choices, settings), for pyxform to compile.

Only what a tablet needs is written. `sensitive` and `renamed_from` are dropped: they are the server's
business (who may read an answer, how exports keep one column across a rename), the server keeps them
in the definition, and the XForm has no place for them. Labels per language become `label::Thai (th)`
columns, as XLSForm names a language. In a form of one language a plain-string label is plain `label`;
in a form of several it is written in each of them, as is a translation a text lacks (from the
default language), so no tablet shows pyxform's `-` or an extra "default" language.
"""

import re
from collections.abc import Iterator
from typing import Any

from forms.choice_lists import is_list_file
from forms.model import Choice, Field, FormDefinition, Label, Media, iter_fields, label_text

Row = dict[str, str]
Sheets = dict[str, list[Row]]

LANGUAGE_NAMES = {
    **{"th": "Thai", "en": "English", "lo": "Lao", "my": "Burmese", "km": "Khmer", "zh": "Chinese"},
    **{"ja": "Japanese", "ko": "Korean", "vi": "Vietnamese", "ms": "Malay", "id": "Indonesian"},
    **{"tl": "Tagalog", "hi": "Hindi", "bn": "Bengali", "ne": "Nepali", "si": "Sinhala", "ta": "Tamil"},
    **{"ur": "Urdu", "ar": "Arabic", "fa": "Persian", "tr": "Turkish", "ru": "Russian", "uk": "Ukrainian"},
    **{"fr": "French", "es": "Spanish", "pt": "Portuguese", "de": "German", "it": "Italian"},
    **{"nl": "Dutch", "pl": "Polish", "sw": "Swahili", "am": "Amharic", "ha": "Hausa", "yo": "Yoruba"},
}
"""The English names of common language codes; ODK Collect shows `Thai (th)` in its language menu."""
_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_DEFAULT = "default"  # pyxform's name for the language of a column without `::`
MEDIA_KINDS = ("image", "big-image", "audio", "video")
RANGE_PARAMETERS = frozenset({"start", "end", "step"})
UNSEEN = frozenset({"calculate", "group", "repeat", "start-geopoint"})
"""Types a tablet shows no question for; every other question needs a label (or hint) in an XForm."""
TYPE_NAMES = {"group": "begin_group", "repeat": "begin_repeat", "photo": "image"}
"""Field types written under another XLSForm name; every other type of FIELD_TYPES is its own name."""


def language_name(code: str) -> str:
    """`th` -> `Thai (th)`, an unknown code -> `xx (xx)`; a language stored by name stays its name."""
    if not _CODE.fullmatch(code):
        return code
    return f"{LANGUAGE_NAMES.get(code.split('-')[0], code)} ({code})"


class _Writer:
    """Writes rows in the form's languages: a text missing in one is shown in the default language
    (else any other), as the server shows it, rather than pyxform's `-`."""

    def __init__(self, defn: FormDefinition) -> None:
        self.defn = defn
        found = {code for label in _labels(defn) if isinstance(label, dict) for code in label}
        if defn.default_language:
            found.add(defn.default_language)
        self.languages = sorted(found, key=lambda code: (code != defn.default_language, code))
        """The default language first, then the others by code: the order of the XForm's translations."""

    def texts(self, row: Row, column: str, label: Label | None) -> None:
        """A translatable column: `column::Thai (th)` for each language of the form, else plain `column`."""
        if label is None:
            return
        if isinstance(label, str):  # in a form with languages, the same text in each of them
            label = dict.fromkeys(self.languages or [_DEFAULT], label)
        for code in self.languages or [_DEFAULT]:
            text = label_text(label, code, self.defn.default_language)
            if text:
                row[column if code == _DEFAULT else f"{column}::{language_name(code)}"] = text


def xlsform_sheets(defn: FormDefinition) -> Sheets:
    """The survey, choices and settings rows of the definition, as an author would have typed them."""
    write = _Writer(defn)
    survey = [{"type": kind, "name": name} for name, kind in defn.metadata.items()]
    for field in defn.fields:
        survey += _field_rows(write, field)
    choices = [
        _choice_row(write, name, choice)
        for name, listed in defn.choices.items()
        if not is_list_file(name)  # a list file's choices are read from the file itself
        for choice in listed
    ]
    sheets: Sheets = {"survey": survey, "settings": [_settings_row(defn, write.languages)]}
    if choices:
        sheets["choices"] = choices
    return sheets


def _settings_row(defn: FormDefinition, languages: list[str]) -> Row:
    row = {"form_id": defn.key, "version": defn.version}
    title = label_text(defn.title, languages[0] if languages else None, defn.default_language)
    if title:
        row["form_title"] = title
    if defn.default_language:
        row["default_language"] = language_name(defn.default_language)
    if defn.instance_name:
        row["instance_name"] = defn.instance_name
    if defn.style:
        row["style"] = defn.style
    return row


def _field_rows(write: _Writer, field: Field) -> list[Row]:
    row: Row = {"type": _type(field), "name": field.name}
    unlabelled = field.label is None and field.hint is None and field.type not in UNSEEN
    write.texts(row, "label", field.name if unlabelled else field.label)  # a JSON form may only name them
    write.texts(row, "hint", field.hint)
    write.texts(row, "guidance_hint", field.guidance_hint)
    write.texts(row, "required_message", field.required_message)
    write.texts(row, "constraint_message", field.constraint_message)
    _media(write, row, field.media)
    if field.required:
        row["required"] = "yes"
    if field.readonly:
        row["readonly"] = "yes" if field.readonly is True else str(field.readonly)
    plain = {
        "relevant": field.relevant,
        "constraint": field.constraint,
        "calculation": field.calculation,
        "choice_filter": field.choice_filter,
        "appearance": field.appearance,
        "default": _text(field.default),
        "parameters": " ".join(f"{k}={v}" for k, v in (field.parameters or {}).items()) or None,
        "repeat_count": _text(field.repeat_count) if field.type == "repeat" else None,
    }
    row |= {column: value for column, value in plain.items() if value is not None and value != ""}
    if field.type not in ("group", "repeat"):
        return [row]
    inner = [r for child in field.fields or [] for r in _field_rows(write, child)]
    return [row, *inner, {"type": f"end_{field.type}"}]


def _type(field: Field) -> str:
    """The XLSForm type: `select_one surface or_other`, `select_one_from_file shops.csv`, `range`, ..."""
    if field.type in ("select_one", "select_multiple", "rank"):
        listed = str(field.choices or "")
        if is_list_file(listed) and field.type != "rank":
            kind = f"{field.type}_from_file {listed}"
        else:
            kind = f"{field.type} {listed}"
        return f"{kind} or_other" if field.or_other else kind
    if field.type in ("integer", "decimal") and RANGE_PARAMETERS & set(field.parameters or {}):
        return "range"  # how an XLSForm range is stored: a number with start, end and step
    return TYPE_NAMES.get(field.type, field.type)


def _choice_row(write: _Writer, list_name: str, choice: Choice) -> Row:
    row: Row = {"list_name": list_name, "name": choice.value}
    write.texts(row, "label", choice.value if choice.label is None else choice.label)
    _media(write, row, choice.media)
    for column, value in (choice.columns or {}).items():
        row.setdefault(column, value)
    return row


def _media(write: _Writer, row: Row, media: Media | None) -> None:
    for kind, files in (media or {}).items():
        if kind in MEDIA_KINDS:
            write.texts(row, kind, files)


def _labels(defn: FormDefinition) -> Iterator[Label | Media | None]:
    """Every translatable text of the definition: what decides the form's languages."""
    yield defn.title
    for _, field in iter_fields(defn):
        yield from (field.label, field.hint, field.guidance_hint, field.required_message)
        yield field.constraint_message
        yield from (field.media or {}).values()
    for listed in defn.choices.values():
        for choice in listed:
            yield choice.label
            yield from (choice.media or {}).values()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
