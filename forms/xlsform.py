"""XLSForm import: pyxform is the reference parser; we guard the file, map its JSON, and locate problems.

Every problem is reported as [sheet, spreadsheet row, column]. pyxform stops at its first error, so
our row-level checks (`forms.xlsform_rows`) run on the raw sheets first; their problems, pyxform's
and (when pyxform succeeds) those of `forms.checks.check` are merged without saying anything twice.
"""

import io
import re
import zipfile
from datetime import datetime
from typing import Any

import msgspec
from pyxform import xls2json, xls2json_backends
from pyxform.errors import PyXFormError

from forms.checks import check
from forms.choice_lists import external_lists, lang_code
from forms.errors import InvalidDefinition, Problem, UnreadableFile
from forms.model import FormDefinition
from forms.xlsform_loops import BadLoopText, expand_loops
from forms.xlsform_mapping import Mapper, yes
from forms.xlsform_rows import check_rows, generated_note_name, merge
from forms.xlsform_settings import encrypted, header, identity, settings_row

XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2 compound file: Excel 97-2003
MAX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_RATIO = 100
COLUMNS = {
    "choices": "type",
    "fields": "type",
    "calculation": "calculation",
    "constraint_message": "constraint_message",
}
_ROW = re.compile(r"\[row : (\d+)\]")
_SHEET = re.compile(r"[Oo]n the '(\w+)' sheet")
_COLUMN = re.compile(r"the '([\w:]+)' (?:value|column)")


def guard(data: bytes) -> str:
    """The workbook's file type for pyxform; refuses non-workbooks and zip bombs before anything opens them."""
    if data[:8] == XLS_MAGIC:
        return ".xls"  # an OLE file is not compressed: it is no bigger in memory than the upload
    if data[:4] != b"PK\x03\x04":
        raise UnreadableFile("not an Excel workbook (an XLSForm is an Excel .xlsx or .xls file)", "not_xlsx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableFile(f"the .xlsx file is corrupt: {exc}", "corrupt_file") from exc
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED or (total > 5 * 1024 * 1024 and total > MAX_RATIO * len(data)):
        raise UnreadableFile(
            f"the workbook expands to {total} bytes; refused as a possible zip bomb", "zip_bomb"
        )
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise UnreadableFile("the zip file is not an Excel workbook", "not_xlsx")
    return ".xlsx"


def load_xlsform(
    data: bytes, filename: str | None = None, *, now: datetime | None = None
) -> tuple[FormDefinition, list[str]]:
    """An .xlsx or .xls XLSForm to a checked definition and warnings; InvalidDefinition lists every problem.

    `filename` (the upload's) gives the key when settings has no form_id; `now` dates a missing version.
    """
    file_type = guard(data)
    try:
        book = xls2json_backends.get_xlsform(data, file_type=file_type)
    except PyXFormError as exc:
        raise UnreadableFile(f"the {file_type} file could not be read: {exc}", "corrupt_file") from exc
    except Exception as exc:  # openpyxl and xlrd raise many kinds on a damaged workbook
        raise UnreadableFile(
            f"the {file_type} file could not be read: {type(exc).__name__}", "corrupt_file"
        ) from exc
    if not book.survey:
        raise UnreadableFile("the workbook has no 'survey' sheet (or it is empty)", "missing_survey_sheet")
    key, version, warnings, problems = identity(settings_row(book.settings), filename, now)
    problems += encrypted(settings_row(book.settings))
    survey, choices = with_headers(book.survey), with_headers(book.choices)
    rows_found, raw_warnings = check_rows(survey, choices, [settings_row(book.settings)])
    problems = merge(problems, rows_found)
    if any(p.code == "too_deep" for p in problems):
        raise InvalidDefinition(problems, raw_warnings)
    try:
        tree = xls2json.workbook_to_json(book, form_name="data", fallback_form_name=key, warnings=warnings)
    except PyXFormError as exc:
        raise InvalidDefinition(merge(problems, [_pyxform_problem(exc)]), warnings + raw_warnings) from exc
    rows, or_other = _survey_rows(survey)
    try:
        children = expand_loops(tree.get("children", []))
    except BadLoopText as exc:
        bad = Problem(
            loc=["survey", rows.get(exc.path, 0), exc.column], code="bad_loop_text", message=str(exc)
        )
        raise InvalidDefinition(merge(problems, [bad]), warnings + raw_warnings) from exc
    default_lang = tree.get("default_language")
    default_lang = None if default_lang in (None, "default") else lang_code(default_lang)
    mapper = Mapper(default_lang, or_other)
    defn_raw = {
        "key": key or str(tree.get("id_string") or "form"),
        "version": version,
        "title": mapper.label(tree.get("title")) or str(tree.get("id_string")),
        "default_language": default_lang,
        "fields": mapper.fields(children, ""),
        "metadata": mapper.metadata,
        "choices": {k: [mapper.choice(c) for c in v] for k, v in (tree.get("choices") or {}).items()},
        "instance_name": tree.get("instance_name") or None,
        "style": tree.get("style") or None,
    }
    external = external_lists(with_headers(book.external_choices), default_lang)
    for name, listed in external.items():  # a name on both sheets: one list with the values of both
        kept = defn_raw["choices"].setdefault(name, [])
        known = {c["value"] for c in kept}
        kept += [msgspec.to_builtins(c) for c in listed if c.value not in known]
    defn = msgspec.convert(defn_raw, FormDefinition)
    found, more = check(defn)
    warnings += more
    if yes(settings_row(book.settings).get("allow_choice_duplicates")):  # pyxform allows them then
        found = [p for p in found if p.code != "duplicate_choice"]
    choice_rows = _choice_rows(choices)
    problems = merge(problems, [_locate(p, defn, rows, choice_rows) for p in found])
    if problems:
        raise InvalidDefinition(problems, warnings)
    return defn, warnings


def with_headers(sheet: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Rows keyed as pyxform reads headers (TYPE -> type, List Name -> list_name); `::Lang (xx)` kept."""
    return [{header(str(key)): value for key, value in row.items()} for row in sheet or []]


def _pyxform_problem(exc: PyXFormError) -> Problem:
    message = str(exc)
    context = exc.context or {}
    row = context.get("row") or (int(m[1]) if (m := _ROW.search(message)) else None)
    sheet = context.get("sheet") or (m[1] if (m := _SHEET.search(message)) else "survey")
    column = context.get("column") or (m[1] if (m := _COLUMN.search(message)) else None)
    loc: list[str | int] = [sheet]
    if row is not None:
        loc.append(int(row))
        if column:
            loc.append(column)
    return Problem(loc=loc, code="xlsform", message=_ROW.sub("", message).strip())


def _survey_rows(survey: list[dict[str, Any]]) -> tuple[dict[str, int], set[str]]:
    """Field path -> spreadsheet row (pyxform keeps blank rows, so index + 2 is the row)."""
    rows: dict[str, int] = {}
    or_other: set[str] = set()
    stack: list[str] = []
    for i, row in enumerate(survey):
        kind = " ".join(str(row.get("type", "")).replace("_", " ").split()).lower()
        name = str(row.get("name") or (generated_note_name(i + 2) if row.get("type") == "note" else ""))
        if kind.startswith(("end group", "end repeat", "end loop")):
            if stack:
                stack.pop()
            continue
        path = "/".join([*stack, name])
        rows.setdefault(path, i + 2)
        if kind.endswith(" or other"):
            or_other.add(path)
        if kind.startswith(("begin group", "begin repeat", "begin loop")):
            stack.append(name)
    return rows, or_other


def _choice_rows(choices: list[dict[str, Any]]) -> dict[tuple[str, int], int]:
    rows: dict[tuple[str, int], int] = {}
    counts: dict[str, int] = {}
    for i, row in enumerate(choices):
        list_name = str(row.get("list_name") or row.get("list name") or "")
        if list_name:
            rows[(list_name, counts.get(list_name, 0))] = i + 2
            counts[list_name] = counts.get(list_name, 0) + 1
    return rows


def _locate(
    problem: Problem, defn: FormDefinition, rows: dict[str, int], choice_rows: dict[tuple[str, int], int]
) -> Problem:
    loc = problem.loc
    if loc and loc[0] == "choices" and len(loc) >= 3:
        row = choice_rows.get((str(loc[1]), int(loc[2])))
        return msgspec.structs.replace(problem, loc=["choices", row or 0, "name"])
    if loc and loc[0] == "key":
        return msgspec.structs.replace(problem, loc=["settings", 2, "form_id"])
    if loc and loc[0] == "version":
        return msgspec.structs.replace(problem, loc=["settings", 2, "version"])
    if loc and loc[0] == "metadata" and len(loc) > 1:
        return msgspec.structs.replace(problem, loc=["survey", rows.get(str(loc[1]), 0), "name"])
    fields, names, attr = defn.fields, [], "name"
    for i in range(1, len(loc), 2):
        if not isinstance(loc[i], int) or fields is None:
            break
        field = fields[int(loc[i])]
        names.append(field.name)
        fields = field.fields
        attr = str(loc[i + 1]) if i + 1 < len(loc) else "name"
    path = "/".join(names)
    in_loop = ("/".join(names[:i] + names[i + 1 :]) for i in range(1, len(names) - 1))  # loop/choice/q
    row = (
        rows.get(path)
        or rows.get(path.removesuffix("_other"))
        or next(filter(None, map(rows.get, in_loop)), 0)
    )
    return msgspec.structs.replace(problem, loc=["survey", row, COLUMNS.get(attr, attr)])
