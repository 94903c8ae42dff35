"""The working state of one received item, and the compiled rules items are judged by."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from forms.errors import Problem
from forms.model import DedupPolicy, load_definition
from forms.validate import Validator, compile_validator
from survey_api.db import tables
from sync import folding
from sync.batch import MAX_TEXT_BYTES, ItemResult, SubmissionIn


class Item:
    """The working state of one received item while its batch is processed."""

    __slots__ = (
        "answers", "clean", "device_id", "ended_at", "errors", "field_types", "form", "form_key", "form_version",
        "hash", "index", "issues", "location_path", "metadata", "new_id", "observed_at", "owns_uuid", "payload",
        "point",
        "policy", "result", "started_at", "sub", "uuid", "version",
    )  # fmt: skip

    def __init__(self, index: int, payload: Any) -> None:
        self.index = index
        self.payload = payload
        self.clean = False
        self.sub: SubmissionIn | None = None
        self.uuid: str | None = None
        self.form_key: str | None = None  # the form and version it names, when they are usable text
        self.form_version: str | None = None
        self.errors: list[Problem] = []
        self.issues: list[Problem] = []
        self.answers: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}  # the submission's metadata by kind, out of its answers
        self.hash: str | None = None
        self.form: tables.Form | None = None
        self.version: tables.FormVersion | None = None
        self.location_path: str | None = None  # where the record's location is in the answers
        self.point: dict[str, Any] = folding.NO_POINT  # the record's point columns (lat, lon, cell...)
        self.policy: DedupPolicy | None = None  # the form's duplicate policy; None: double taps only
        self.field_types: dict[str, str] = {}
        self.device_id: str | None = None
        self.new_id: uuid.UUID | None = None  # the record a new item makes
        self.observed_at: datetime | None = None
        self.started_at: datetime | None = None  # device times corrected for clock skew
        self.ended_at: datetime | None = None
        self.owns_uuid = False  # logged under its uuid (the first time this uuid was received)
        self.result: ItemResult | None = None

    def reject(self, code: str, message: str, loc: list[str | int] | None = None) -> None:
        self.errors.append(Problem(loc=loc or [], code=code, message=message))


class Validators:
    """Compiled validators by form version id; a published version never changes, so never stale.

    Also the one size rule items are judged by beside their forms: `max_text`, in bytes of UTF-8.
    """

    def __init__(self, max_text: int = MAX_TEXT_BYTES) -> None:
        self._cache: dict[uuid.UUID, Validator] = {}
        self.max_text = max_text

    def get(self, version: tables.FormVersion, timezone: str) -> Validator:
        found = self._cache.get(version.id)
        if found is None:
            found = compile_validator(load_definition(version.definition), timezone)
            self._cache[version.id] = found
        return found
