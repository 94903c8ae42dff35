"""Folding one record into another, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from forms.model import DedupPolicy
from sync.folding import edit_observation, fold, leaf_of, point_columns, snapshot

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def record(name: str, lat: float, accuracy: float, at: datetime) -> dict:
    return {
        "id": uuid.uuid4(),
        "answers": {"shop_name": name, "location": {"lat": lat, "lon": 102.1, "accuracy": accuracy}},
        "revision": 1,
        "status": "ok",
        "lat": lat,
        "lon": 102.1,
        "accuracy": accuracy,
        "cell_x": None,
        "cell_y": None,
        "observations": 1,
        "issues": [],
        "observed_at": at,
        "created_at": at,
    }


def test_a_fold_takes_the_latest_text_and_the_most_accurate_point() -> None:
    first = record("ร้านป้าศรี", 14.9730, 15.0, T0)
    second = record("ร้านข้าวแกงป้าศรี", 14.9731, 4.0, T0 + timedelta(hours=1))
    folded = fold(first, [], second, [], DedupPolicy(), "location")
    assert folded.values["answers"]["shop_name"] == "ร้านข้าวแกงป้าศรี"
    assert folded.values["lat"] == 14.9731 and folded.values["accuracy"] == 4.0
    assert folded.values["revision"] == 2 and folded.values["observations"] == 2
    assert [r.origin_id for r in folded.inserts] == [first["id"], second["id"]]
    assert folded.origins == [second["id"]] and folded.moved == []
    assert "shop_name" in folded.changed
    undo = snapshot(first, folded)
    assert undo["survivor"]["answers"]["shop_name"] == "ร้านป้าศรี" and undo["survivor_revision"] == 2


def test_folding_a_record_that_holds_others_moves_its_observations() -> None:
    a, b, c = (record(n, 14.97, 5.0, T0 + timedelta(minutes=i)) for i, n in enumerate("abc"))
    into_b = fold(b, [], c, [], DedupPolicy(), "location")
    into_a = fold(a, [], b, into_b.held, DedupPolicy(), "location")
    assert into_a.moved == [b["id"], c["id"]] and into_a.values["observations"] == 3
    assert into_a.values["answers"]["shop_name"] == "c"


def test_an_edit_observation_keeps_only_what_the_edit_changed() -> None:
    answers = {"shop_name": "x", "trees": [{"species": "a"}], "width_m": 2}
    row = edit_observation(uuid.uuid4(), answers, ["trees/0/species", "width_m"], T0, "sub-1")
    assert row.answers == {"trees": [{"species": "a"}], "width_m": 2} and row.kind == "edit"
    assert leaf_of("a/3/b") == "a" and leaf_of("group/field") == "group/field"


def test_point_columns_need_a_usable_point() -> None:
    assert point_columns({"p": {"lat": 14.97, "lon": 102.1, "accuracy": 3}}, "p")["cell_x"] is not None
    assert point_columns({"p": {"lat": None, "lon": 102.1}}, "p")["lat"] is None
    assert point_columns({"p": "not a point"}, "p")["lat"] is None
    assert point_columns({}, None)["lat"] is None
