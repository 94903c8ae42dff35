"""Time the compiled validator on 10,000 typical 30-field submissions; prints one JSON object."""

import json
import random
import time

from forms.model import Choice, Field, FormDefinition
from forms.validate import compile_validator

SUBMISSIONS = 10_000


def build_form() -> FormDefinition:
    fields = [
        Field(name="location", type="geopoint", required=True),
        Field(name="shop_name", type="text", required=True),
        Field(name="surface", type="select_one", choices="surface", required=True),
        Field(name="obstacles", type="select_multiple", choices="obstacle"),
        Field(name="other_obstacle", type="text", relevant="selected(${obstacles}, 'other')", required=True),
        Field(name="width_m", type="decimal", constraint=". >= 0 and . <= 20"),
        Field(name="visited", type="date"),
        Field(name="started", type="datetime"),
        Field(name="phone", type="text", sensitive=True, constraint="regex(., '^0[0-9]{8,9}$')"),
    ]
    fields += [Field(name=f"count_{i}", type="integer", constraint=". >= 0") for i in range(8)]
    fields += [Field(name=f"note_{i}", type="text") for i in range(6)]
    fields += [Field(name=f"rating_{i}", type="select_one", choices="rating") for i in range(4)]
    fields.append(
        Field(
            name="trees",
            type="repeat",
            fields=[Field(name="species", type="text"), Field(name="girth_cm", type="integer")],
        )
    )
    fields.append(Field(name="photo", type="photo"))
    choices = {
        "surface": [Choice(value=v) for v in ("concrete", "brick", "asphalt", "dirt")],
        "obstacle": [Choice(value=v) for v in ("vendor", "pole", "car", "other")],
        "rating": [Choice(value=str(v)) for v in range(1, 6)],
    }
    return FormDefinition(key="sidewalk_audit", version="1", title="Sidewalk", fields=fields, choices=choices)


def submission(rng: random.Random) -> dict:
    answers: dict = {
        "location": {"lat": 14.97 + rng.random() / 100, "lon": 102.08 + rng.random() / 100, "accuracy": 4.0},
        "shop_name": "ร้านข้าวแกงป้าศรี",
        "surface": rng.choice(["concrete", "brick", "asphalt"]),
        "obstacles": rng.sample(["vendor", "pole", "car", "other"], 2),
        "other_obstacle": "motorbike",
        "width_m": round(rng.uniform(0.5, 4), 2),
        "visited": "2026-11-20",
        "started": "2026-11-20T09:12:00+07:00",
        "phone": "0812345678",
        "trees": [{"species": "ต้นหูกวาง", "girth_cm": 95}],
        "photo": "IMG_0001.jpg",
    }
    answers |= {f"count_{i}": rng.randint(0, 30) for i in range(8)}
    answers |= {f"note_{i}": "ทางเท้าแคบ" for i in range(6)}
    answers |= {f"rating_{i}": str(rng.randint(1, 5)) for i in range(4)}
    return answers


def main() -> None:
    form = build_form()
    rng = random.Random(7)
    batch = [submission(rng) for _ in range(SUBMISSIONS)]
    validator = compile_validator(form)
    start = time.perf_counter()
    results = [validator.validate(s) for s in batch]
    seconds = time.perf_counter() - start
    assert not any(r.errors for r in results)
    print(
        json.dumps(
            {
                "benchmark": "validate",
                "submissions": SUBMISSIONS,
                "fields": len(form.fields) + 1,
                "seconds": round(seconds, 4),
                "per_second": round(SUBMISSIONS / seconds),
                "issues": sum(len(r.issues) for r in results),
            }
        )
    )


if __name__ == "__main__":
    main()
