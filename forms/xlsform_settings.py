"""XLSForm settings as pyxform reads them: the form's key and version (defaulted as ODK tools do), and
what a settings row may ask that this server refuses (encryption).
"""

import re
from datetime import UTC, datetime
from pathlib import PureWindowsPath
from typing import Any

from pyxform import aliases
from pyxform.parsing.sheet_headers import to_snake_case

from forms.checks import check_key
from forms.errors import Problem

VERSION_FORMAT = "%Y%m%d%H%M"  # a missing version, as ODK tools make one: sortable, to the minute
MAX_KEY_FROM_FILE = 100


def header(key: str) -> str:
    """A header as pyxform reads it (TYPE -> type, List Name -> list_name); `::Lang (xx)` kept."""
    head, sep, rest = key.partition("::")
    return to_snake_case(head) + sep + rest


def settings_row(settings: list[dict[str, Any]] | None) -> dict[str, str]:
    """The first settings row as pyxform reads it: headers snake_cased and de-aliased (FORM_ID -> id_string)."""
    out: dict[str, str] = {}
    for written, value in ((settings or [{}])[0] or {}).items():
        name = header(str(written))
        if value is not None and str(value).strip():
            out[aliases.settings_header.get(name, name)] = str(value).strip()
    return out


def identity(
    settings: dict[str, str], filename: str | None, now: datetime | None
) -> tuple[str | None, str, list[str], list[Problem]]:
    """Key and version from settings, else defaulted as ODK tools do; a warning names each default used."""
    warnings: list[str] = []
    problems: list[Problem] = []
    key = settings.get("id_string")
    if key is not None and check_key(key):
        written, key = key, as_key(key) or key_from_filename(filename)
        if key is None:
            key = written  # nothing usable to derive from: the check reports the written one
        else:
            warnings.append(
                f"settings form_id {written!r} is not a valid form key (a key is part of URLs: it starts "
                f"with a letter or _, then letters, digits, _ - .): the form's key is {key!r}"
            )
    if key is None:
        key = key_from_filename(filename)
        if key is None:
            problems.append(
                Problem(
                    loc=["settings", 2, "form_id"],
                    code="missing_setting",
                    message="settings needs a form_id (the upload has no usable file name to take one from)",
                )
            )
        else:
            warnings.append(f"settings has no form_id: the form's key {key!r} is taken from the file name")
    version = settings.get("version")
    if version is None:
        version = (now or datetime.now(UTC)).strftime(VERSION_FORMAT)
        warnings.append(
            f"settings has no version: this upload is version {version!r}, the upload time (UTC); "
            "add a version to settings to choose your own"
        )
    return key, version, warnings, problems


def encrypted(settings: dict[str, str]) -> list[Problem]:
    """An encrypted form is refused, not silently taken: the server could not read what it must check."""
    if "public_key" not in settings:
        return []
    also = " and submission_url" if "submission_url" in settings else ""
    return [
        Problem(
            loc=["settings", 2, "public_key"],
            code="encrypted_form",
            message=(
                "this form is encrypted (settings has public_key): this server must read every submission "
                "to find duplicates and to export it, so it does not take encrypted forms; "
                f"remove public_key{also} from settings to upload it here"
            ),
        )
    ]


def key_from_filename(filename: str | None) -> str | None:
    """A form key from an upload's file name (pyxform uses the file's stem too), made a valid name."""
    return as_key(PureWindowsPath(filename or "").stem)  # a Windows browser may send the whole path


def as_key(text: str) -> str | None:
    """`text` made a valid form key: other characters become `_`, a leading digit gets `form_`."""
    key = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.-")[:MAX_KEY_FROM_FILE]
    if not key:
        return None
    return key if re.match(r"[A-Za-z_]", key) else f"form_{key}"
