"""Shared builders of test data: the forms, items and batches the suites send, and the people sending them.

The one place for them: no test module builds its own or imports another's. Only the standard library
and msgspec, so the pure suites (tests/forms, tests/sync) and the end-to-end tests can import them too.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

HERE = (14.9730, 102.0836)  # a sidewalk in Korat: where every default item is observed
FORM: dict[str, Any] = {
    "key": "sidewalk_audit",
    "version": "v1",
    "title": {"th": "สำรวจทางเท้า", "en": "Sidewalk audit"},
    "fields": [
        {"name": "location", "type": "geopoint", "required": True},
        {"name": "shop_name", "type": "text"},
        {"name": "surface", "type": "select_one", "choices": "surface"},
        {"name": "width_m", "type": "decimal", "constraint": ". >= 0 and . <= 20"},
        {"name": "owner_phone", "type": "text", "sensitive": True},
        {
            "name": "trees",
            "type": "repeat",
            "fields": [{"name": "species", "type": "text"}, {"name": "girth_cm", "type": "integer"}],
        },
    ],
    "choices": {"surface": [{"value": "concrete"}, {"value": "brick"}]},
}
SYNC = "/api/v1/projects/korat/sync"


def audit_form(**overrides: Any) -> dict[str, Any]:
    """The smallest form worth syncing: `audit` v1, a point (not required) and a shop's name."""
    form: dict[str, Any] = {
        "key": "audit",
        "version": "v1",
        "title": "Audit",
        "fields": [{"name": "location", "type": "geopoint"}, {"name": "shop_name", "type": "text"}],
    }
    return form | overrides


def submission(form: str, answers: dict[str, Any], version: str = "v1", **extra: Any) -> dict[str, Any]:
    """One sync item of `form`, with exactly these answers and a fresh uuid (unless `extra` names one)."""
    return {"uuid": str(uuid.uuid4()), "form": form, "version": version, "answers": answers, **extra}


def item(**overrides: Any) -> dict[str, Any]:
    """A full `sidewalk_audit` v1 item; `answers` are laid over the defaults, other keys replace theirs."""
    answers = {
        "location": {"lat": HERE[0], "lon": HERE[1], "accuracy": 4.0},
        "shop_name": "ร้านข้าวแกงป้าศรี",
        "surface": "concrete",
        "width_m": 1.8,
        "owner_phone": "0812345678",
        "trees": [{"species": "ต้นหูกวาง", "girth_cm": 95}],
    }
    answers.update(overrides.pop("answers", {}))
    return submission("sidewalk_audit", answers) | overrides


def shop(
    name: str, *, north_m: float = 0.0, accuracy: float = 5.0, at: str = "09:00", **answers: Any
) -> dict[str, Any]:
    """A shop seen `north_m` metres north of HERE at `at` on 20 November: its point, name and surface."""
    point = {"lat": HERE[0] + north_m / 111_195.0, "lon": HERE[1], "accuracy": accuracy}
    return submission(
        "sidewalk_audit",
        {"location": point, "shop_name": name, "surface": "concrete", **answers},
        started_at=f"2026-11-20T{at}:00+07:00",
        ended_at=f"2026-11-20T{at}:30+07:00",
    )


def batch(*items: Any, **extra: Any) -> dict[str, Any]:
    return {
        "device_id": "tablet-07",
        "sent_at": "2026-11-20T17:00:00+07:00",
        "submissions": list(items),
        **extra,
    }


class Person(msgspec.Struct, kw_only=True):
    """A user of the API test app, with a bearer token of their own."""

    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakePerson = Callable[..., Awaitable[Person]]
