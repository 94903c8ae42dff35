"""Shared builders of test data: the sidewalk form, its items and batches."""

from __future__ import annotations

import uuid
from typing import Any

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


def item(**overrides: Any) -> dict[str, Any]:
    answers = {
        "location": {"lat": 14.9730, "lon": 102.0836, "accuracy": 4.0},
        "shop_name": "ร้านข้าวแกงป้าศรี",
        "surface": "concrete",
        "width_m": 1.8,
        "owner_phone": "0812345678",
        "trees": [{"species": "ต้นหูกวาง", "girth_cm": 95}],
    }
    answers.update(overrides.pop("answers", {}))
    return {
        "uuid": str(uuid.uuid4()),
        "form": "sidewalk_audit",
        "version": "v1",
        "answers": answers,
        **overrides,
    }


def batch(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "device_id": "tablet-07",
        "sent_at": "2026-11-20T17:00:00+07:00",
        "submissions": list(items),
        **extra,
    }
