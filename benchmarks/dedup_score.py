"""Duplicate scoring cost per incoming submission (DESIGN.md: duplicate lookup flat per item).

Times, on synthetic Korat data with Thai shop names: `neighbour_cells` (the index lookup keys),
`score` per pair, and `best_match` per incoming item against ~5 candidates. Prints one JSON object.
Usage: python benchmarks/dedup_score.py [incoming] [candidates_per_item]
"""

import json
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from forms.model import DedupPolicy
from sync.dedup import Candidate, best_match, neighbour_cells, score

NAMES = ["ร้านข้าวแกงป้าศรี", "ร้านก๋วยเตี๋ยวเรือ", "ส้มตำยายหนู", "7-Eleven", "ร้านกาแฟบ้านสวน", "Korat Bakery"]
M_LAT = 1 / 111_195.0


def build(n: int, per_item: int, seed: int = 1) -> tuple[list[Candidate], list[list[Candidate]]]:
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    incoming, candidates = [], []
    for i in range(n):
        lat, lon = 14.95 + rng.random() * 0.05, 102.07 + rng.random() * 0.05
        name = rng.choice(NAMES)
        answers = {"shop_name": name, "surface": rng.choice(["concrete", "brick"]), "width_m": 1.8}
        incoming.append(Candidate(lat=lat, lon=lon, answers=answers, observed_at=t0, device_id="t1"))
        near = []
        for j in range(per_item):
            d = rng.uniform(0, 30)
            other = name if rng.random() < 0.4 else rng.choice(NAMES)
            if rng.random() < 0.3:
                other = other.replace("ร้าน", "ร้าน ")
            near.append(
                Candidate(
                    record_id=f"r{i}-{j}",
                    lat=lat + d * M_LAT,
                    lon=lon,
                    answers={"shop_name": other, "surface": "concrete"},
                    observed_at=t0 - timedelta(hours=rng.uniform(0, 48)),
                    device_id="t2",
                )
            )
        candidates.append(near)
    return incoming, candidates


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    per_item = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    policy = DedupPolicy(radius_m=25, match_fields=["shop_name", "surface"])
    incoming, candidates = build(n, per_item)

    start = time.perf_counter()
    cells = sum(len(neighbour_cells(item.lat, item.lon, policy.radius_m)) for item in incoming)  # type: ignore[arg-type]
    t_cells = time.perf_counter() - start

    start = time.perf_counter()
    scored = sum(
        score(policy, item, c) is not None
        for item, near in zip(incoming, candidates, strict=True)
        for c in near
    )
    t_score = time.perf_counter() - start

    start = time.perf_counter()
    matches = [best_match(policy, item, near) for item, near in zip(incoming, candidates, strict=True)]
    t_best = time.perf_counter() - start

    pairs = n * per_item
    print(
        json.dumps(
            {
                "benchmark": "dedup_score",
                "python": platform.python_version(),
                "incoming": n,
                "candidates_per_item": per_item,
                "pairs": pairs,
                "neighbour_cells_us_per_item": round(t_cells / n * 1e6, 2),
                "cells_per_item_avg": round(cells / n, 2),
                "score_us_per_pair": round(t_score / pairs * 1e6, 2),
                "pairs_in_radius": scored,
                "best_match_us_per_item": round(t_best / n * 1e6, 2),
                "best_match_items_per_s": round(n / t_best),
                "decisions": {
                    "merge": sum(1 for m in matches if m and m.decision == "merge"),
                    "review": sum(1 for m in matches if m and m.decision == "review"),
                    "new": sum(1 for m in matches if m is None),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
