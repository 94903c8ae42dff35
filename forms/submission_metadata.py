"""Submission metadata in the answers a tablet sends: taken out of them and typed by kind.

A metadata value the server cannot read (a `start` that is no date-time) is an issue and is dropped:
the tablet wrote it, not the person answering, so it never costs the submission.
"""

import datetime as dt
from typing import Any

from forms.errors import Problem
from forms.values import BadValue, Coercer, date, text

META_BLOCK = "meta"  # ODK's <meta> block, where pyxform places `audit` beside the instanceID


def utc_datetime(local: Coercer) -> Coercer:
    """The `datetime` field type's reading, then moved to UTC (RFC 3339, `Z`)."""

    def utc(raw: Any, loc: list[str | int], issues: list[Problem]) -> str:
        parsed = dt.datetime.fromisoformat(local(raw, loc, issues))
        try:
            moved = parsed.astimezone(dt.UTC)
        except OverflowError:
            raise BadValue("not_a_datetime", f"{raw!r} is outside the calendar in UTC"[:200]) from None
        return moved.isoformat().replace("+00:00", "Z")

    return utc


class MetadataReader:
    """Compiled once per form version from its `metadata` (name -> kind)."""

    def __init__(self, metadata: dict[str, str], local_datetime: Coercer) -> None:
        self.kinds = metadata
        as_utc = utc_datetime(local_datetime)
        readers = {"start": as_utc, "end": as_utc, "today": date}
        self._readers = {name: readers.get(kind, text) for name, kind in metadata.items()}

    def take(
        self, raw: dict[str, Any], issues: list[Problem]
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The answers without metadata, the metadata by kind, and the same values by name (for rules)."""
        block = raw.get(META_BLOCK)
        block = block if isinstance(block, dict) else {}
        if not any(name in raw or name in block for name in self.kinds):
            return raw, {}, {}
        by_kind: dict[str, Any] = {}
        by_name: dict[str, Any] = {}
        for name, kind in self.kinds.items():
            loc: list[str | int] = [name] if name in raw else [META_BLOCK, name]
            value = raw[name] if name in raw else block.get(name)
            if value is None or value == "":
                continue
            try:
                typed = self._readers[name](value, loc, issues)
            except BadValue as exc:
                message = f"{kind} metadata: {exc.message}; not kept"
                issues.append(Problem(loc=loc, code="bad_metadata", message=message))
                continue
            by_name[name] = typed
            by_kind.setdefault(kind, typed)  # two rows of one kind: the first in the form that is read
        answers = {key: value for key, value in raw.items() if key not in self.kinds}
        return answers, by_kind, by_name
