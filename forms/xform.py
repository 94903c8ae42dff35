"""A version's XForm, the form ODK Collect, KoboCollect and Enketo fill, compiled by pyxform.

An XLSForm upload is compiled from the workbook itself, so every column the author wrote reaches the
tablet, even those the server's definition does not keep; a JSON definition is written as XLSForm
sheets first (`forms.xform_sheets`). Either way the instance root carries the server's key and
version (`id`, `version`): the workbook's may have been defaulted by the server at upload.
"""

import re
from dataclasses import fields
from typing import Any
from xml.etree import ElementTree

from pyxform import aliases, xls2json_backends
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from forms.errors import FormsError
from forms.model import FormDefinition
from forms.xform_sheets import Sheets, xlsform_sheets
from forms.xlsform import XLS_MAGIC
from forms.xlsform_settings import header

FILE_TYPES = {"xlsx": ".xlsx", "xls": ".xls"}
_ROW = re.compile(r"\[row : (\d+)\]\s*(?:On the 'survey' sheet, )?")
_XF, _BODY = "{http://www.w3.org/2002/xforms}", "{http://www.w3.org/1999/xhtml}body"
_CAPTIONS = frozenset({f"{_XF}label", f"{_XF}hint"})
_IDENTITY = frozenset({"id_string", "version"})  # settings the server decides (form_id is id_string)


class XFormError(FormsError):
    """pyxform refused to compile the form: the message is pyxform's reason, for the person publishing."""


ITEMSETS = "itemsets.csv"
"""The file ODK Collect reads the choices of `select_one_external` questions from (a form's media)."""


def compile_xform(
    defn: FormDefinition, xlsform: bytes | None = None, xlsform_type: str | None = None
) -> bytes:
    """The XForm (UTF-8 bytes) of a version: from its uploaded workbook if it has one, else from `defn`.

    `xlsform_type` is "xlsx" or "xls" (a media type saying `ms-excel` is read as "xls"); without it the
    file's first bytes decide. XFormError when pyxform refuses the form."""
    return compile_xform_files(defn, xlsform, xlsform_type)[0]


def compile_xform_files(
    defn: FormDefinition, xlsform: bytes | None = None, xlsform_type: str | None = None
) -> tuple[bytes, dict[str, bytes]]:
    """The XForm and the media files it needs that pyxform writes itself: `itemsets.csv`, the
    choices of an uploaded workbook's `external_choices` sheet, for its `select_one_external`."""
    sheets = xlsform_sheets(defn) if xlsform is None else None
    if sheets is not None:
        book = workbook_dict(sheets)
    else:
        book = _uploaded(defn, xlsform or b"", _file_type(xlsform or b"", xlsform_type))
    try:
        result = convert(xlsform=book, validate=False, warnings=[])
    except PyXFormError as exc:
        reason = str(exc) if sheets is None else _by_field(str(exc), sheets)
        raise XFormError(f"pyxform cannot make an XForm of this form: {reason}") from exc
    except (KeyError, ValueError, TypeError, AttributeError) as exc:  # pyxform trips on what it never checks
        raise XFormError(f"pyxform cannot make an XForm of this form ({type(exc).__name__}: {exc})") from exc
    xform = result.xform.encode("utf-8")
    if empty := _empty_groups(xform):
        raise XFormError(
            f"the group {empty[0]!r} has no question a tablet shows (only metadata or calculations): "
            "ODK Collect cannot open a form with an empty group; add a question to it or move its fields out"
        )
    files = {ITEMSETS: result.itemsets.encode("utf-8")} if result.itemsets else {}
    return xform, files


def workbook_dict(sheets: Sheets) -> dict[str, Any]:
    """Sheet rows as pyxform's `convert` takes a workbook: each sheet with its header row beside it."""
    book: dict[str, Any] = {"sheet_names": list(sheets)}
    for name, rows in sheets.items():
        book[name] = rows
        book[f"{name}_header"] = [dict.fromkeys(key for row in rows for key in row)]
    return book


def _by_field(message: str, sheets: Sheets) -> str:
    """pyxform's reason with the field it is about instead of a row of sheets the author never saw."""
    found = _ROW.match(message)
    survey = sheets.get("survey") or []
    if found is None or not 2 <= int(found[1]) < len(survey) + 2:
        return message
    row = survey[int(found[1]) - 2]
    return f"field {row.get('name') or row.get('type')!r}: " + message[found.end() :].strip()


def _empty_groups(xform: bytes) -> list[str]:
    """Groups and repeats of the body with nothing to show, which pyxform writes and JavaRosa refuses."""
    body = ElementTree.fromstring(xform).find(_BODY)
    return [
        str(node.get("ref") or node.get("nodeset")).rsplit("/", 1)[-1]
        for kind in ("group", "repeat")
        for node in (body.iter(f"{_XF}{kind}") if body is not None else ())
        if all(child.tag in _CAPTIONS for child in node)
    ]


def _file_type(data: bytes, declared: str | None) -> str:
    if declared:
        kind = declared.lower().removeprefix(".")
        if kind in FILE_TYPES:
            return FILE_TYPES[kind]
        if "ms-excel" in kind:
            return ".xls"
        if "spreadsheetml" in kind:
            return ".xlsx"
    return ".xls" if data[:8] == XLS_MAGIC else ".xlsx"


def _uploaded(defn: FormDefinition, data: bytes, file_type: str) -> dict[str, Any]:
    """The workbook as pyxform reads it, with settings naming the server's key and version."""
    try:
        read = xls2json_backends.get_xlsform(data, file_type=file_type)
    except PyXFormError as exc:
        raise XFormError(f"the uploaded {file_type} workbook could not be read again: {exc}") from exc
    book = {f.name: getattr(read, f.name) for f in fields(read)}
    settings = [dict(row) for row in book.get("settings") or [{}]] or [{}]
    written = [key for row in (book.get("settings_header") or [{}])[:1] for key in row]

    def kept(key: str) -> bool:
        name = header(str(key))
        return aliases.settings_header.get(name, name) not in _IDENTITY

    first = {k: v for k, v in settings[0].items() if kept(k)} | {"form_id": defn.key, "version": defn.version}
    book["settings"] = [first, *settings[1:]]
    book["settings_header"] = [dict.fromkeys([*(k for k in written if kept(k)), "form_id", "version"])]
    names = list(book.get("sheet_names") or [])
    if not any(str(n).lower() == "settings" for n in names):
        book["sheet_names"] = [*names, "settings"]
    return book
