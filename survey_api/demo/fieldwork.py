"""A week of field work through the real sync endpoint: volunteers' batches and the messy cases a
coordinator meets, every item's result counted so the accounting identity can be shown."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from survey_api.demo import campaign as c
from survey_api.demo.server import Api

STATUSES = [
    "accepted",
    "merged",
    "conflict",
    "merged_duplicate",
    "possible_duplicate",
    "duplicate",
    "rejected",
]
AUDIT_V = "2026-11-20"


class Field:
    """Sends batches as one volunteer or another and keeps every result."""

    def __init__(self, api: Api, slug: str, tokens: dict[str, str]) -> None:
        self.api, self.slug, self.tokens = api, slug, tokens
        self.path = f"/api/v1/projects/{slug}/sync"
        self.received = 0
        self.statuses: Counter[str] = Counter()
        self.cases: dict[str, str] = {}  # a messy case -> the status it got
        self.rng = random.Random(20261120)

    def send(self, who: str, batch: dict[str, Any]) -> list[dict[str, Any]]:
        results = self.api.as_(self.tokens[who]).call("POST", self.path, batch)["results"]
        self.received += len(batch["submissions"])
        self.statuses.update(r["status"] for r in results)
        return results

    def item(
        self, label: str, form: str, version: str, answers: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        return c.item(self.slug, label, form, version, answers, **extra)

    def audits(self) -> None:
        """Each volunteer's audits in two evening batches; the first batch goes twice (a lost answer)."""
        n = 0
        for v, who in enumerate(c.VOLUNTEERS):
            for day in (20, 21):
                items = []
                for _ in range(c.PER_VOLUNTEER // 2):
                    answers = c.audit_answers(self.rng, n)
                    items.append(self.item(f"audit-{n}", c.AUDIT, AUDIT_V, answers, day=day, hour=8 + n % 9))
                    n += 1
                batch = c.batch(f"tablet-{v + 1:02d}", items, day)
                self.send(who, batch)
                if v == 0 and day == 20:
                    retried = self.send(who, batch)
                    self.cases["retried batch"] = summarise(retried)

    def spaces(self, version: int, start: int, count: int) -> None:
        items = [
            self.item(f"space-{n}", c.SPACES, f"v{version}", c.space_answers(self.rng, n, version), day=22)
            for n in range(start, start + count)
        ]
        for k, who in enumerate(c.VOLUNTEERS[:2]):
            self.send(who, c.batch(f"tablet-{k + 1:02d}", items[k::2], 22))

    def messy(self) -> None:
        a, b, d = c.VOLUNTEERS[:3]
        # Double tap: the send button pressed twice, the same submission in two requests.
        tap = self.item("double-tap", c.AUDIT, AUDIT_V, self.shop("ร้านขนมจีนแม่บุญ", 0.0))
        self.send(a, c.batch("tablet-01", [tap], 23))
        self.cases["double tap"] = summarise(self.send(a, c.batch("tablet-01", [tap], 23)))
        # Two volunteers at one shop, a few metres and minutes apart: one record, two observations.
        first = self.item("shop-a", c.AUDIT, AUDIT_V, self.shop("ร้านกาแฟย่าโม", 3.0))
        second = self.item("shop-b", c.AUDIT, AUDIT_V, self.shop("ร้านกาแฟย่าโม", 3.3), hour=10)
        self.send(a, c.batch("tablet-01", [first], 23))
        self.cases["two volunteers at one shop"] = summarise(self.send(b, c.batch("tablet-02", [second], 23)))
        # Look-alike neighbours: two noodle shops of one family, 15 m apart; a coordinator decides.
        left = self.item("noodles-1", c.AUDIT, AUDIT_V, self.shop("ร้านก๋วยเตี๋ยวเรือป้าแดง", 6.0))
        right = self.item("noodles-2", c.AUDIT, AUDIT_V, self.shop("ร้านก๋วยเตี๋ยวเรือป้าแดง สาขา 2", 7.5))
        self.cases["look-alike neighbours"] = summarise(self.send(d, c.batch("tablet-03", [left, right], 23)))
        self.stale_edits(a, b, d)
        # A bad coordinate and swapped latitude/longitude: refused, kept in the quarantine.
        bad = self.shop("ร้านยาง", 9.0) | {"location": {"lat": 95.2, "lon": 102.1, "accuracy": 5}}
        swapped = self.shop("ร้านแว่น", 9.5) | {"location": {"lat": 102.101, "lon": 14.975, "accuracy": 5}}
        got = self.send(
            b,
            c.batch(
                "tablet-02",
                [self.item("bad", c.AUDIT, AUDIT_V, bad), self.item("swapped", c.AUDIT, AUDIT_V, swapped)],
                23,
            ),
        )
        self.cases["bad coordinate"], self.cases["swapped lat/lon"] = summarise(got[:1]), summarise(got[1:])
        # A tablet on the Thai solar calendar: Buddhist-Era year 2569 for 2026.
        be = c.item(
            self.slug,
            "buddhist-era",
            c.SPACES,
            "v2",
            c.space_answers(self.rng, 99, 2) | {"surveyed_on": "2569-11-23"},
            started_at="2569-11-23T09:10:00+07:00",
            ended_at="2569-11-23T09:14:00+07:00",
        )
        self.cases["Buddhist-Era year"] = summarise(self.send(d, c.batch("tablet-03", [be], 23, year=2569)))

    def stale_edits(self, a: str, b: str, d: str) -> None:
        """Three tablets edit one record offline from revision 1: a fresh edit, one that merges, one that conflicts."""
        answers = self.shop("ร้านหมูปิ้งลุงชัย", 12.0)
        made = self.send(a, c.batch("tablet-01", [self.item("edit-base", c.AUDIT, AUDIT_V, answers)], 23))[0]
        record, base = made["record_id"], made["revision"]

        def edit(label: str, who: str, tablet: str, **changed: Any) -> list[dict[str, Any]]:
            sub = self.item(label, c.AUDIT, AUDIT_V, answers | changed, record_id=record, base_revision=base)
            return self.send(who, c.batch(tablet, [sub], 24))

        edit("edit-width", a, "tablet-01", width_m=2.4)
        self.cases["stale edit, other field"] = summarise(edit("edit-ramp", b, "tablet-02", ramp="yes"))
        self.cases["stale edit, same field"] = summarise(edit("edit-width-2", d, "tablet-03", width_m=1.1))

    def shop(self, name: str, at: float) -> dict[str, Any]:
        """A shop's answers at a fixed place north of the city hall; `at` is in units of 10 m east."""
        return {
            "location": {"lat": 14.97464, "lon": round(102.0990 + at * 0.0000928, 7), "accuracy": 4.0},
            "shop_name": name,
            "surface": "concrete",
            "walkable": "yes",
            "width_m": 1.8,
            "obstacles": ["vendor"],
            "ramp": "no",
            "street_tree": "yes",
            "owner_phone": "0812345678",
        }


def summarise(results: list[dict[str, Any]]) -> str:
    """`25 duplicate`, `rejected (coordinates_swapped)`: each outcome with the codes of its problems."""
    said = Counter(
        r["status"]
        + (f" ({', '.join(p['code'] for p in probs)})" if (probs := r["errors"] or r["issues"]) else "")
        for r in results
    )
    return ", ".join(f"{n} {outcome}" if n > 1 else outcome for outcome, n in said.items())
