"""Duplicate scoring: pure, deterministic and explainable, since every decision is shown to a reviewer.

For an incoming submission and a candidate record of the same form:

- not scored (None) when either has no location, when the distance d exceeds `radius_m`, or when
  `time_window_h` is set, both times are known and they lie further apart than that;
- distance similarity  s_d = 1 - (d / radius_m)²  (1 on the spot, 0.75 at half the radius, 0 at it);
- each match field f gets s_f in [0, 1]: exact equality for numbers, choices and other scalars,
  Jaccard for lists (select_multiple), and for text the better of two alignments (rapidfuzz Indel
  opcodes) of the normalised texts: with all whitespace removed, and with their words sorted. An
  alignment has m shared characters, e characters only one text has before the first or after the
  last shared one (a dropped leading or trailing word, such as "ร้าน"), and c other unshared ones
  (changed or missing inside, or different endings on both sides):
      s = (1 - e / (e + 2m)) · (1 - c / (c + 2 · min(m, CONTEXT)))     with CONTEXT = 8.
  With c = 0 that is the plain Indel ratio; otherwise at most 8 shared characters vouch against the
  differences, so a long shared trade word cannot hide another owner: "ร้านก๋วยเตี๋ยวต้มยำยายเพ็ญ" vs
  "ร้านก๋วยเตี๋ยวต้มยำยายหนู" scores 0.70 (the plain ratio says 0.86) while a one-character typo keeps
  0.94; texts sharing at most 8 characters are not capped at all. A value missing on either side is
  neutral, s_f = 0.5, and is listed in `missing`;
- total = s_d when there are no match fields, else  0.3 · s_d + 0.7 · mean(s_f).

`classify` merges automatically only when total ≥ auto_merge_score AND every match field was present
on both sides: distance alone, or a missing field, never folds two records together; at most it
asks for review (total ≥ review_score). A wrong merge is worse than a missed one. A double tap (same
device, same content hash, minutes apart) is a duplicate whatever the location says.
"""

import functools
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from rapidfuzz.distance import Indel

from forms.model import DedupPolicy
from sync.grid import DEFAULT_CELL_M, EARTH_RADIUS_M, cell_key, neighbour_cells, pack_cell
from sync.hashing import canonical_bytes
from sync.merge import get_path
from sync.normalize import as_utc

__all__ = [
    "DEFAULT_CELL_M",
    "Candidate",
    "Match",
    "Score",
    "best_match",
    "cell_key",
    "classify",
    "field_similarity",
    "haversine_m",
    "is_double_tap",
    "neighbour_cells",
    "normalize_text",
    "pack_cell",
    "score",
    "text_similarity",
]

W_DISTANCE = 0.3
NEUTRAL = 0.5
ROUNDING = 1e-4  # scores are rounded to 4 places: a bound this close to a bar does not rule out
CONTEXT = 8  # shared characters that can vouch against differences inside a text
DOUBLE_TAP_WINDOW = timedelta(minutes=5)
EXACT_TYPES = frozenset({"select_one", "integer", "decimal", "date", "datetime", "time", "geopoint"})
# A regex, not str.translate: translate with a table costs ~4 µs on a Thai name, the regex 0.5 µs.
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\ufeff\u2060]")

Decision = Literal["merge", "review", "new"]


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """A record or a submission as scoring sees it: a stored record near the one being placed, or the
    one being placed (`record_id` set only when it is a stored record re-examined by a rescan)."""

    record_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    answers: dict[str, Any] = {}
    observed_at: datetime | None = None
    device_id: str | None = None
    content_hash: str | None = None


class Score(msgspec.Struct, frozen=True, kw_only=True):
    """The breakdown a reviewer sees: total, distance and per-field similarities."""

    total: float
    distance_m: float | None
    fields: dict[str, float]
    missing: list[str] = []
    double_tap: bool = False

    @property
    def complete(self) -> bool:
        """Every match field compared on both sides; required for an automatic merge."""
        return bool(self.fields) and not self.missing


class Match(msgspec.Struct, frozen=True, kw_only=True):
    record_id: str
    score: Score
    decision: Decision


def normalize_text(s: str) -> str:
    """NFC, zero-width characters removed (Thai keyboards insert them), casefolded, whitespace folded."""
    return " ".join(_words(s))


def _words(s: str) -> list[str]:
    return _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", s)).casefold().split()


def text_similarity(a: str, b: str) -> float:
    """Thai is written without spaces between words, so spacing differences must not count."""
    (sa, wa, spaced_a), (sb, wb, spaced_b) = _forms(a), _forms(b)
    if sa == sb:
        return 1.0
    best = _aligned(sa, sb)
    if spaced_a or spaced_b:
        best = max(best, _aligned(wa, wb))
    return best


def text_ceiling(a: str, b: str) -> float:
    """An upper bound of `text_similarity` at a fraction of its cost: the plain Indel ratio of each
    alignment, 2m / (2m + e + c), which is never below s (with M = 2·min(m, CONTEXT) ≤ 2m,
    s = 2m/(2m + e) · M/(M + c) ≤ 2m/(2m + e + c) reduces to M ≤ 2m + e)."""
    (sa, wa, spaced_a), (sb, wb, spaced_b) = _forms(a), _forms(b)
    if sa == sb:
        return 1.0
    best = Indel.normalized_similarity(sa, sb)
    if spaced_a or spaced_b:
        best = max(best, Indel.normalized_similarity(wa, wb))
    return best


@functools.lru_cache(maxsize=16384)  # a batch compares each text with several candidates
def _forms(text: str) -> tuple[str, str, bool]:
    """The two forms texts are compared in: without spaces, and words sorted; and whether it has words."""
    words = _words(text)
    return "".join(words), " ".join(sorted(words)), len(words) > 1


def _aligned(a: str, b: str) -> float:
    """The module docstring's s: names sharing a long prefix differ where they differ, not on average."""
    m = e = c = 0
    only_a = only_b = 0  # unshared characters since the last shared run
    inside = False  # a shared run was seen
    for tag, a1, a2, b1, b2 in Indel.opcodes(a, b).as_list():
        if tag == "equal":
            if inside or (only_a and only_b):
                c += only_a + only_b
            else:
                e += only_a + only_b
            m += a2 - a1
            only_a = only_b = 0
            inside = True
        elif tag == "delete":
            only_a += a2 - a1
        else:
            only_b += b2 - b1
    if not inside:
        return 0.0
    if only_a and only_b:
        c += only_a + only_b
    else:
        e += only_a + only_b
    return (1 - e / (e + 2 * m)) * (1 - c / (c + 2 * min(m, CONTEXT)))


def field_similarity(a: Any, b: Any, field_type: str | None = None, *, ceiling: bool = False) -> float | None:
    """Similarity in [0, 1], or None when either value is missing; with `ceiling`, a quick upper
    bound of it (see `text_ceiling`)."""
    if _empty(a) or _empty(b):
        return None
    if field_type == "select_multiple" or isinstance(a, list) or isinstance(b, list):
        sa, sb = _as_set(a), _as_set(b)
        return len(sa & sb) / len(sa | sb) if sa | sb else 1.0
    if isinstance(a, str) and isinstance(b, str):
        if field_type in EXACT_TYPES:
            return 1.0 if normalize_text(a) == normalize_text(b) else 0.0
        return text_ceiling(a, b) if ceiling else text_similarity(a, b)
    return 1.0 if a == b and isinstance(a, bool) == isinstance(b, bool) else 0.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def score(
    policy: DedupPolicy,
    incoming: Candidate,
    candidate: Candidate,
    field_types: Mapping[str, str] | None = None,
    at_least: float = 0.0,
) -> Score | None:
    """The blend described in the module docstring; None when the pair is out of range, or when
    its total is sure to fall below `at_least` (then the text alignments are never computed)."""
    if incoming.lat is None or incoming.lon is None or candidate.lat is None or candidate.lon is None:
        return None
    distance = haversine_m(incoming.lat, incoming.lon, candidate.lat, candidate.lon)
    if distance > policy.radius_m or not _in_window(policy, incoming.observed_at, candidate.observed_at):
        return None
    s_d = 1.0 - (distance / policy.radius_m) ** 2 if policy.radius_m > 0 else 1.0
    types = field_types or {}
    pairs = [
        (name, get_path(incoming.answers, name), get_path(candidate.answers, name), types.get(name))
        for name in policy.match_fields
    ]
    if at_least > 0 and pairs:
        ceilings = [field_similarity(a, b, kind, ceiling=True) for _, a, b, kind in pairs]
        mean = sum(NEUTRAL if c is None else c for c in ceilings) / len(pairs)
        if W_DISTANCE * s_d + (1 - W_DISTANCE) * mean + ROUNDING < at_least:
            return None
    fields: dict[str, float] = {}
    missing: list[str] = []
    for name, a, b, kind in pairs:
        sim = field_similarity(a, b, kind)
        if sim is None:
            missing.append(name)
        else:
            fields[name] = round(sim, 4)
    if policy.match_fields:
        mean = (sum(fields.values()) + NEUTRAL * len(missing)) / len(policy.match_fields)
        total = W_DISTANCE * s_d + (1 - W_DISTANCE) * mean
    else:
        total = s_d
    return Score(total=round(total, 4), distance_m=round(distance, 2), fields=fields, missing=missing)


def classify(s: Score, policy: DedupPolicy) -> Decision:
    if s.double_tap or (s.complete and s.total >= policy.auto_merge_score):
        return "merge"
    return "review" if s.total >= policy.review_score else "new"


def is_double_tap(incoming: Candidate, candidate: Candidate, window: timedelta = DOUBLE_TAP_WINDOW) -> bool:
    """Same device, same content (uuid aside), observed within `window`; unknown times never qualify."""
    if incoming.device_id is None or incoming.device_id != candidate.device_id:
        return False
    if incoming.content_hash is None or incoming.content_hash != candidate.content_hash:
        return False
    if incoming.observed_at is None or candidate.observed_at is None:
        return False
    return abs(as_utc(incoming.observed_at) - as_utc(candidate.observed_at)) <= window


def best_match(
    policy: DedupPolicy,
    incoming: Candidate,
    candidates: Iterable[Candidate],
    distinct_pairs: Collection[frozenset[str]] = frozenset(),
    field_types: Mapping[str, str] | None = None,
) -> Match | None:
    """The candidate to merge into or review against, or None for a new record.

    Double taps win; then the highest total, the nearer, the smaller record_id (so reruns agree).
    Pairs a reviewer marked distinct are never proposed again.
    """
    best: tuple[tuple[bool, float, float, str], Match] | None = None
    for candidate in candidates:
        if candidate.record_id == incoming.record_id:
            continue
        if (
            incoming.record_id is not None
            and frozenset((incoming.record_id, candidate.record_id)) in distinct_pairs
        ):
            continue
        if is_double_tap(incoming, candidate):
            s: Score | None = _double_tap_score(incoming, candidate)
        else:
            s = score(policy, incoming, candidate, field_types, at_least=policy.review_score)
        if s is None:
            continue
        decision = classify(s, policy)
        if decision == "new":
            continue
        distance = s.distance_m if s.distance_m is not None else math.inf
        key = (not s.double_tap, -s.total, distance, candidate.record_id)
        if best is None or key < best[0]:
            best = (key, Match(record_id=candidate.record_id, score=s, decision=decision))
    return best[1] if best else None


def _double_tap_score(incoming: Candidate, candidate: Candidate) -> Score:
    distance = None
    if None not in (incoming.lat, incoming.lon, candidate.lat, candidate.lon):
        distance = round(haversine_m(incoming.lat, incoming.lon, candidate.lat, candidate.lon), 2)  # type: ignore[arg-type]
    return Score(total=1.0, distance_m=distance, fields={}, double_tap=True)


def _in_window(policy: DedupPolicy, a: datetime | None, b: datetime | None) -> bool:
    if policy.time_window_h is None or a is None or b is None:
        return True
    return abs(as_utc(a) - as_utc(b)) <= timedelta(hours=policy.time_window_h)


def _empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or value == {}
        or (isinstance(value, str) and not value.strip())
    )


def _as_set(value: Any) -> set[Any]:
    items = value.split() if isinstance(value, str) else value if isinstance(value, list) else [value]
    return {normalize_text(v) if isinstance(v, str) else canonical_bytes(v) for v in items}
