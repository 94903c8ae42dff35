import random
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from rapidfuzz import fuzz

from forms.model import DedupPolicy
from sync.dedup import (
    Candidate,
    best_match,
    classify,
    field_similarity,
    haversine_m,
    is_double_tap,
    normalize_text,
    score,
    text_ceiling,
    text_similarity,
)

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LAT, LON = 14.9730, 102.0836
M_LAT = 1 / 111_195.0  # degrees of latitude per metre
POLICY = DedupPolicy(radius_m=25, match_fields=["shop_name"])


def near(metres):
    return LAT + metres * M_LAT


def test_thai_name_with_and_without_space_match():
    assert text_similarity("ร้านข้าวแกง ป้าศรี", "ร้านข้าวแกงป้าศรี") == 1.0
    assert text_similarity("ร้านข้าวแกง\u200bป้าศรี", "ร้านข้าวแกงป้าศรี") == 1.0


def test_a_shared_trade_word_does_not_hide_another_owner():
    # Same trade, different owners: the plain ratio (0.86) would fold them on the spot; each
    # differing character now counts against at most 8 shared ones.
    assert fuzz.ratio("ร้านก๋วยเตี๋ยวต้มยำยายเพ็ญ", "ร้านก๋วยเตี๋ยวต้มยำยายหนู") > 86
    assert text_similarity("ร้านก๋วยเตี๋ยวต้มยำยายเพ็ญ", "ร้านก๋วยเตี๋ยวต้มยำยายหนู") < 0.75
    assert text_similarity("ร้านผัดไทยพี่ต้อม", "ร้าน ผัดไทย พี่อ้อย") <= 0.8
    assert text_similarity("ร้านกาแฟป้าศรี", "ร้านข้าวแกงป้าศรี") < 0.75  # same owner, other trade
    inc = Candidate(lat=LAT, lon=LON, answers={"shop_name": "ร้านก๋วยเตี๋ยวต้มยำยายเพ็ญ"})
    cand = Candidate(record_id="r", lat=LAT, lon=LON, answers={"shop_name": "ร้านก๋วยเตี๋ยวต้มยำยายหนู"})
    s = score(POLICY, inc, cand)
    assert s is not None and classify(s, POLICY) == "review"


def test_typos_and_a_dropped_leading_word_stay_close():
    assert text_similarity("ร้านก๋วยเตี๋ยวต้มยำยายเพ็ญ", "ร้านก๋วยเตียวต้มยำยายเพ็ญ") > 0.94  # tone mark
    assert text_similarity("ร้านข้าวแกงป้าศรี", "ร้านข้าวแกงป้ารศี") > 0.88  # swapped letters
    # A word only one side has at the start is judged by the plain ratio: 26 / 30.
    assert text_similarity("ร้านข้าวแกงป้าศรี", "ข้าวแกง ป้าศรี") == pytest.approx(26 / 30)
    assert text_similarity("ชานม", "ชาม") == pytest.approx(fuzz.ratio("ชานม", "ชาม") / 100)  # short: uncapped
    assert text_similarity("Korat Coffee", "coffee korat") == 1.0
    assert text_similarity("abc", "xyz") == 0.0


def test_normalize_text():
    assert normalize_text("  Café\u200d  SOMTAM\u00a0 shop\ufeff ") == "café somtam shop"
    assert normalize_text("Cafe\u0301") == normalize_text("Café")


def test_field_similarity_kinds():
    assert field_similarity(["vendor", "other"], ["vendor"], "select_multiple") == 0.5
    assert field_similarity("vendor other", ["other", "vendor"], "select_multiple") == 1.0
    assert field_similarity("concrete", "concrete_broken", "select_one") == 0.0
    assert field_similarity(3, 3.0) == 1.0 and field_similarity(3, 4) == 0.0
    assert field_similarity(None, "x") is None and field_similarity("  ", "x") is None
    assert 0.6 < field_similarity("Pa Sri rice shop", "rice shop Pa Sri") <= 1.0


def test_haversine():
    assert abs(haversine_m(LAT, LON, near(100), LON) - 100) < 0.01
    assert haversine_m(LAT, LON, LAT, LON) == 0.0


def test_same_shop_same_name_nearby_merges():
    inc = Candidate(lat=LAT, lon=LON, answers={"shop_name": "ร้านข้าวแกง ป้าศรี"})
    cand = Candidate(record_id="r1", lat=near(5), lon=LON, answers={"shop_name": "ร้านข้าวแกงป้าศรี"})
    s = score(POLICY, inc, cand)
    assert s is not None and s.fields == {"shop_name": 1.0} and abs(s.distance_m - 5) < 0.01
    assert s.total == round(0.3 * (1 - (s.distance_m / 25) ** 2) + 0.7, 4)
    assert classify(s, POLICY) == "merge"


def test_neighbouring_shops_with_other_names_stay_apart():
    inc = Candidate(lat=LAT, lon=LON, answers={"shop_name": "ร้านข้าวแกงป้าศรี"})
    cand = Candidate(record_id="r1", lat=near(8), lon=LON, answers={"shop_name": "7-Eleven"})
    s = score(POLICY, inc, cand)
    assert s is not None and classify(s, POLICY) == "new"


def test_outside_radius_or_time_window_or_without_location_is_not_scored():
    inc = Candidate(lat=LAT, lon=LON, answers={"shop_name": "a"}, observed_at=T0)
    assert (
        score(POLICY, inc, Candidate(record_id="r", lat=near(26), lon=LON, answers={"shop_name": "a"}))
        is None
    )
    assert score(POLICY, inc, Candidate(record_id="r", answers={"shop_name": "a"})) is None
    windowed = DedupPolicy(radius_m=25, match_fields=["shop_name"], time_window_h=24)
    late = Candidate(
        record_id="r", lat=LAT, lon=LON, answers={"shop_name": "a"}, observed_at=T0 + timedelta(days=2)
    )
    assert score(windowed, inc, late) is None
    assert score(POLICY, inc, late) is not None


def test_distance_alone_never_merges_automatically():
    policy = DedupPolicy(radius_m=25)
    s = score(policy, Candidate(lat=LAT, lon=LON), Candidate(record_id="r", lat=LAT, lon=LON))
    assert s is not None and s.total == 1.0 and classify(s, policy) == "review"
    far = score(policy, Candidate(lat=LAT, lon=LON), Candidate(record_id="r", lat=near(20), lon=LON))
    assert far is not None and classify(far, policy) == "new"


def test_missing_match_value_is_neutral_and_blocks_auto_merge():
    inc = Candidate(lat=LAT, lon=LON, answers={"shop_name": ""})
    s = score(POLICY, inc, Candidate(record_id="r", lat=LAT, lon=LON, answers={"shop_name": "ป้าศรี"}))
    assert s is not None and s.missing == ["shop_name"] and s.fields == {}
    assert s.total == 0.65 and classify(s, POLICY) == "review"


def test_match_field_in_a_group():
    policy = DedupPolicy(match_fields=["shop/name"])
    inc = Candidate(lat=LAT, lon=LON, answers={"shop": {"name": "Ban Ya"}})
    s = score(policy, inc, Candidate(record_id="r", lat=LAT, lon=LON, answers={"shop": {"name": "ban  ya"}}))
    assert s is not None and s.fields == {"shop/name": 1.0}


def test_double_tap():
    inc = Candidate(device_id="tab-1", content_hash="h", observed_at=T0)
    assert is_double_tap(
        inc,
        Candidate(record_id="r", device_id="tab-1", content_hash="h", observed_at=T0 + timedelta(minutes=2)),
    )
    assert not is_double_tap(
        inc, Candidate(record_id="r", device_id="tab-2", content_hash="h", observed_at=T0)
    )
    assert not is_double_tap(
        inc, Candidate(record_id="r", device_id="tab-1", content_hash="x", observed_at=T0)
    )
    assert not is_double_tap(
        inc,
        Candidate(record_id="r", device_id="tab-1", content_hash="h", observed_at=T0 + timedelta(hours=1)),
    )
    assert not is_double_tap(inc, Candidate(record_id="r", device_id="tab-1", content_hash="h"))


def test_best_match_finds_a_double_tap_without_location():
    inc = Candidate(device_id="tab-1", content_hash="h", observed_at=T0)
    cands = [
        Candidate(record_id="r", device_id="tab-1", content_hash="h", observed_at=T0 + timedelta(seconds=3))
    ]
    match = best_match(POLICY, inc, cands)
    assert (
        match is not None and match.record_id == "r" and match.decision == "merge" and match.score.double_tap
    )


def test_best_match_picks_highest_then_nearest_and_skips_distinct_pairs():
    inc = Candidate(record_id="me", lat=LAT, lon=LON, answers={"shop_name": "ป้าศรี"})
    cands = [
        Candidate(record_id="me", lat=LAT, lon=LON, answers={"shop_name": "ป้าศรี"}),
        Candidate(record_id="far", lat=near(10), lon=LON, answers={"shop_name": "ป้าศรี"}),
        Candidate(record_id="close", lat=near(2), lon=LON, answers={"shop_name": "ป้าศรี"}),
        Candidate(record_id="other", lat=LAT, lon=LON, answers={"shop_name": "Tesco Lotus"}),
    ]
    match = best_match(POLICY, inc, cands)
    assert match is not None and match.record_id == "close" and match.decision == "merge"
    match = best_match(POLICY, inc, cands, distinct_pairs={frozenset({"me", "close"})})
    assert match is not None and match.record_id == "far"
    assert best_match(POLICY, inc, cands[3:]) is None


def test_policy_converts_from_the_forms_shape():
    doc = {"radius_m": 20, "match_fields": ["shop_name"], "survivorship": {"location": "best_accuracy"}}
    policy = msgspec.convert(doc, DedupPolicy)
    assert policy.radius_m == 20 and policy.review_score == 0.6
    assert msgspec.to_builtins(policy)["match_fields"] == ["shop_name"]


def _names(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    words = [
        "ร้าน",
        "ข้าว",
        "แกง",
        "ป้า",
        "ศรี",
        "ก๋วยเตี๋ยว",
        "ตลาด",
        "ยาย",
        "เพ็ญ",
        "หนู",
        "shop",
        "Noodle",
        "market",
        "7-11",
    ]
    return [
        " ".join(rng.choices(words, k=rng.randint(1, 4))) + rng.choice(["", " 2", "ๆ"]) for _ in range(count)
    ]


def test_the_text_ceiling_is_never_below_the_similarity():
    names = _names(3, 80)
    for a in names:
        for b in names:
            assert text_ceiling(a, b) >= text_similarity(a, b) - 1e-12, (a, b)


def test_ruling_out_by_the_ceiling_never_changes_a_decision():
    policy = DedupPolicy(radius_m=25, match_fields=["shop_name", "kind"], review_score=0.6)
    names, rng = _names(4, 60), random.Random(5)
    ruled_out = 0
    for a in names:
        for b in names[:20]:
            here = Candidate(lat=LAT, lon=LON, answers={"shop_name": a, "kind": rng.choice(["food", None])})
            there = Candidate(
                record_id="r", lat=near(rng.uniform(0, 24)), lon=LON, answers={"shop_name": b, "kind": "food"}
            )
            full = score(policy, here, there)
            quick = score(policy, here, there, at_least=policy.review_score)
            assert full is not None
            if quick is None:
                ruled_out += 1
                assert classify(full, policy) == "new", (a, b, full)
            else:
                assert quick == full
    assert ruled_out > 100  # the shortcut is taken, and where it is, nothing changes
