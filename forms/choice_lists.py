"""Choice lists that live outside the choices sheet: the external_choices sheet, and list files.

A `select one external` question takes its choices from the workbook's external_choices sheet;
a `select_one_from_file x.csv` (or `.geojson`) question from a file attached to the form version.
Both become ordinary lists of `Choice`, so the validator checks answers against them as for any
select. Values repeat on purpose in these lists (a county name under two states, filtered by
`choice_filter`), so the first of each value is kept instead of refusing the list.
"""

import csv
import io
import json
import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

import msgspec

from forms.errors import FormsError, InvalidDefinition, Problem
from forms.model import SELECT_TYPES, Choice, FormDefinition, Label, iter_fields

FILE_EXTENSIONS = (".csv", ".geojson")
"""Files a list can come from that the server reads (pyxform also allows .xml, not read yet)."""
EXTERNAL_SHEET = "external_choices"
MAX_FILE_BYTES = 20 * 1024 * 1024
_LANG_CODE = re.compile(r"\(([^()]+)\)\s*$")


class BadListFile(FormsError):
    """A list file the server cannot read choices from (no `name` column, not GeoJSON, ...)."""


def lang_code(key: str) -> str:
    """`English (en)` -> `en`; a language without a code is kept as written."""
    m = _LANG_CODE.search(key)
    return m[1].strip() if m else key.strip()


def is_list_file(list_name: str | None) -> bool:
    """Whether a select's list is a file (`select_one_from_file x.csv`) rather than a choices-sheet list."""
    return bool(list_name) and PurePosixPath(str(list_name)).suffix.lower() in (*FILE_EXTENSIONS, ".xml")


def list_files(defn: FormDefinition) -> list[str]:
    """The files a version needs before it is published: lists of its selects not in the definition."""
    names = {
        f.choices
        for _, f in iter_fields(defn)
        if f.type in SELECT_TYPES and f.choices not in defn.choices and is_list_file(f.choices)
    }
    return sorted(str(n) for n in names)


def with_list_files(defn: FormDefinition, files: dict[str, bytes]) -> FormDefinition:
    """The definition with the choices of every list file it needs read from `files`: a published
    version carries its lists, so the validator checks answers against them. InvalidDefinition
    names each file that is missing."""
    needed = list_files(defn)
    if missing := [name for name in needed if name not in files]:
        raise InvalidDefinition([_missing(name) for name in missing])
    if not needed:
        return defn
    lists = {name: read_list_file(name, files[name]) for name in needed}
    return msgspec.structs.replace(defn, choices={**defn.choices, **lists})


def _missing(name: str) -> Problem:
    message = f"the list file {name!r} is not attached: POST it to this version's media first"
    return Problem(loc=["media", name], code="missing_file", message=message)


def row_label(row: dict[str, Any], default_lang: str | None = None) -> Label | None:
    """A row's `label` and `label::Lang (xx)` columns as one label (text, or text by language)."""
    out: dict[str, str] = {}
    for key, value in row.items():
        head, _, lang = str(key).partition("::")
        if head.strip().lower() != "label" or value is None or not str(value).strip():
            continue
        out[lang_code(lang) if lang else (default_lang or "default")] = str(value).strip()
    if not out:
        return None
    return out["default"] if list(out) == ["default"] else out


def _unique(pairs: Iterable[tuple[str, Label | None]]) -> list[Choice]:
    seen: set[str] = set()
    out: list[Choice] = []
    for value, label in pairs:
        if value and value not in seen:
            seen.add(value)
            out.append(Choice(value=value, label=label))
    return out


def external_lists(rows: list[dict[str, Any]], default_lang: str | None) -> dict[str, list[Choice]]:
    """The external_choices sheet (headers already read as pyxform reads them) as lists by name."""
    grouped: dict[str, list[tuple[str, Label | None]]] = {}
    for row in rows:
        list_name = str(row.get("list_name") or "").strip()
        value = str(row.get("name") if row.get("name") is not None else "").strip()
        if list_name:
            grouped.setdefault(list_name, []).append((value, row_label(row, default_lang)))
    return {name: _unique(pairs) for name, pairs in grouped.items()}


def read_list_file(filename: str, data: bytes) -> list[Choice]:
    """The choices of a list file: a CSV's `name` and `label` (or `label::Lang (xx)`) columns, or a
    GeoJSON's features (value: the feature's `id`, else `properties.id`; label: `properties.title`),
    as ODK Collect reads them. BadListFile says what is wrong, with CSV row numbers."""
    suffix = PurePosixPath(filename).suffix.lower()
    if len(data) > MAX_FILE_BYTES:
        raise _bad(filename, [], "too_large", f"a list file is at most {MAX_FILE_BYTES // 2**20} MB")
    if suffix == ".csv":
        return _read_csv(filename, data)
    if suffix == ".geojson":
        return _read_geojson(filename, data)
    raise _bad(
        filename, [], "unsupported_list_file", f"lists are read from {' or '.join(FILE_EXTENSIONS)} files"
    )


def _bad(filename: str, loc: list[str | int], code: str, message: str) -> BadListFile:
    problem = Problem(loc=[filename, *loc], code=code, message=message)
    return BadListFile(f"{filename}: {message}", [problem])


def _read_csv(filename: str, data: bytes) -> list[Choice]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(filename, [], "not_utf8", f"a CSV list must be UTF-8 (byte {exc.start})") from exc
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip() for h in next(reader, [])]
    if "name" not in header:
        raise _bad(
            filename, [1], "missing_name_column", "row 1 must name a 'name' column (the choice values)"
        )
    name_at = header.index("name")
    pairs: list[tuple[str, Label | None]] = []
    problems: list[Problem] = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        value = cells[name_at].strip() if name_at < len(cells) else ""
        if not value:
            problems.append(
                Problem(loc=[filename, number, "name"], code="empty", message="a choice needs a name")
            )
            continue
        pairs.append((value, row_label(dict(zip(header, cells, strict=False)))))
    if problems:
        raise BadListFile(f"{filename}: {len(problems)} rows have no name", problems)
    return _unique(pairs)


def _read_geojson(filename: str, data: bytes) -> list[Choice]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad(filename, [], "not_geojson", f"not JSON: {exc}") from exc
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise _bad(filename, [], "not_geojson", "a GeoJSON list is a FeatureCollection with 'features'")
    pairs: list[tuple[str, Label | None]] = []
    for i, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        props = props if isinstance(props, dict) else {}
        value = feature.get("id") if isinstance(feature, dict) else None
        value = value if value is not None else props.get("id")
        if value is None or not str(value).strip():
            raise _bad(
                filename, ["features", i], "missing_id", "every feature needs an id (or properties.id)"
            )
        title = props.get("title")
        pairs.append((str(value).strip(), str(title) if title is not None else None))
    return _unique(pairs)
