"""A seeded survey campaign in Korat with known truth, for measuring duplicate detection.

Shops stand in street frontages of 1-5 genuinely different shops 10-30 m apart, often of one trade
with different owners ("ร้านก๋วยเตี๋ยวป้าศรี" beside "ร้านก๋วยเตี๋ยวป้าแดง"); trees stand in rows
8-20 m apart, mostly of one species and similar girth. Each entity is surveyed 1-4 times by different
volunteers on different days, each time with GPS jitter of 3-15 m (and a reported accuracy) and the
name as a volunteer types it: spaces or zero-width spaces between words, the "ร้าน"/"ต้น" prefix
dropped, a dropped, swapped or tone-mark typo, another case or the NFD form of Latin names (Thai has
no canonical decompositions, so NFD leaves it as it is), a short form, or nothing at all. A few
submissions are double taps: the same device and answers again, with a new uuid a minute later.
The truth (`Planned.entity`) is kept beside the wire payload, never inside it.
"""

from __future__ import annotations

import math
import random
import unicodedata
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

import msgspec

CENTRE = (14.97, 102.08)  # Nakhon Ratchasima (Korat), the old city
M_PER_DEG_LAT = 111_195.0
ICT = timezone(timedelta(hours=7))
VERSION = "v1"


def _words(text: str) -> list[str]:
    return text.split()


TRADES = _words(
    "ข้าวแกง ก๋วยเตี๋ยว ก๋วยเตี๋ยวเรือ ก๋วยเตี๋ยวต้มยำ กาแฟ ซ่อมรถ ซ่อมมอเตอร์ไซค์ ส้มตำ ข้าวมันไก่ "
    "ข้าวขาหมู ตัดผม เสริมสวย ขายของชำ ผลไม้ หมูปิ้ง ไก่ย่าง น้ำปั่น ชานม ขายยา ถ่ายเอกสาร ผัดไทย "
    "โจ๊ก ข้าวต้ม ซักรีด ขนมจีน วัสดุก่อสร้าง"
)
OWNERS = _words(
    "ป้าศรี ลุงชัย เจ๊หมวย ยายหนู พี่ต้อม น้องแพร เฮียเล้ง ป้าแดง ลุงสมศักดิ์ ตาบุญ เจ๊กิมเฮียง พี่นก "
    "ป้าจันทร์ ลุงเปี๊ยก แม่สมพร ยายเพ็ญ พี่หนุ่ม ครูแอ๊ว เจ๊ติ๋ม ป้านวล ลุงประยูร พี่อ้อย น้าหงษ์ ป้าลำไย "
    "บ้านสวน โคราช หัวมุม ริมคู"
)
TRADES_EN = ["Coffee", "Noodles", "Garage", "Bakery", "Café", "Kitchen", "Salon", "Mart", "Crêperie"]
OWNERS_EN = ["Pa Sri", "Lung Chai", "Jay Muay", "Yai Noo", "P'Tom", "Baan Suan", "Korat", "Moat Side"]
CHAINS = ["7-Eleven", "Café Amazon", "Tesco Lotus Express", "FamilyMart", "Inthanin Coffee"]
SPECIES = _words("หูกวาง มะขาม จามจุรี ประดู่ ราชพฤกษ์ นนทรี สัก มะม่วง โพธิ์ ตะแบก อินทนิล พิกุล ยางนา ขี้เหล็ก")
TONE_MARKS = "\u0e48\u0e49\u0e4a\u0e4b"
ZWSP = "\u200b"


class Entity(msgspec.Struct, frozen=True, kw_only=True):
    """One real-world thing: its true place and attributes."""

    id: str
    kind: Literal["shop", "tree"]
    lat: float
    lon: float
    parts: list[str] = []  # a shop name as words; Latin words are joined with spaces
    species: str | None = None
    girth_cm: int | None = None
    group: int  # the frontage or row it stands in


class Planned(msgspec.Struct, frozen=True, kw_only=True):
    """One submission as a tablet sends it, and the truth about it."""

    entity: str
    kind: Literal["shop", "tree"]
    device: str
    day: int
    double_tap: bool
    jitter_m: float
    variant: list[str]  # what the volunteer did to the name, for reports
    submission: dict[str, Any]


class Batch(msgspec.Struct, frozen=True, kw_only=True):
    device: str
    day: int
    items: list[Planned]


class Campaign(msgspec.Struct, frozen=True, kw_only=True):
    entities: dict[str, Entity]
    batches: list[Batch]  # in the order the tablets sync


def name_of(parts: list[str]) -> str:
    """The canonical name: Thai words run together, a Latin word is set off by a space."""
    out = ""
    for part in parts:
        if out and (_latin(part) or _latin(out[-1])):
            out += " "
        out += part
    return out


def generate(
    seed: int = 1,
    shops: int = 2000,
    trees: int = 1000,
    side_m: float = 4000.0,
    days: int = 12,
    devices: int = 8,
    start: date | None = None,
    double_tap_rate: float = 0.03,
) -> Campaign:
    """The same campaign for the same arguments; `start` (the first day) defaults to `days + 1` days
    before today, so that every survey lies in the past."""
    rng = random.Random(seed)
    first = start or (date.today() - timedelta(days=days + 1))
    entities: dict[str, Entity] = {}
    group = 0
    named: dict[str, list[tuple[float, float]]] = {}
    while sum(e.kind == "shop" for e in entities.values()) < shops:
        group += 1
        for entity in _frontage(rng, group, side_m, named):
            entities[entity.id] = entity
    while sum(e.kind == "tree" for e in entities.values()) < trees:
        group += 1
        for entity in _row(rng, group, side_m):
            entities[entity.id] = entity

    visits: dict[tuple[int, int], list[Entity]] = {}  # (day, device) -> what it surveyed
    for entity in entities.values():
        times = rng.choices((1, 2, 3, 4), weights=(30, 35, 20, 15))[0]
        days_ = rng.sample(range(days), times)
        for day, device in zip(days_, rng.sample(range(devices), times), strict=True):
            visits.setdefault((day, device), []).append(entity)
    batches = []
    for (day, device), seen in sorted(visits.items()):
        route = sorted(seen, key=lambda e: (round(e.lat, 3), e.lon))
        gap = min(6.0, 540.0 / len(route))
        morning = datetime.combine(first + timedelta(days=day), datetime.min.time(), ICT) + timedelta(hours=8)
        items: list[Planned] = []
        for n, entity in enumerate(route):
            at = morning + timedelta(minutes=n * gap)
            planned = _observe(rng, entity, f"tablet-{device + 1:02d}", day, at)
            items.append(planned)
            if rng.random() < double_tap_rate:
                items.append(_double_tap(rng, planned))
        batches.append(Batch(device=f"tablet-{device + 1:02d}", day=day, items=items))
    return Campaign(entities=entities, batches=batches)


def _frontage(
    rng: random.Random, group: int, side_m: float, named: dict[str, list[tuple[float, float]]]
) -> list[Entity]:
    """Neighbouring shops; no two within 100 m share a name, "ร้าน" aside (then they'd be one shop)."""
    size = rng.choices((1, 2, 3, 4, 5), weights=(30, 25, 20, 15, 10))[0]
    trade = rng.choice(TRADES) if rng.random() < 0.4 else None
    shops = []
    for n, (lat, lon) in enumerate(_line(rng, size, side_m, 10, 30)):
        while True:
            parts = _shop_parts(rng, trade)
            core = name_of([p for p in parts if p != "ร้าน"])
            if all(
                abs(lat - a) * M_PER_DEG_LAT > 100 or abs(lon - b) * 107_000 > 100
                for a, b in named.get(core, ())
            ):
                break
        named.setdefault(core, []).append((lat, lon))
        shops.append(Entity(id=f"shop-{group}-{n}", kind="shop", lat=lat, lon=lon, parts=parts, group=group))
    return shops


def _shop_parts(rng: random.Random, trade: str | None) -> list[str]:
    roll = rng.random()
    if trade is None and roll < 0.05:
        return [rng.choice(CHAINS)]
    if trade is None and roll < 0.17:
        return [rng.choice(OWNERS_EN), rng.choice(TRADES_EN)]
    if roll < 0.25:
        return ["ร้าน", trade or rng.choice(TRADES), rng.choice(OWNERS_EN)]
    prefix = ["ร้าน"] if rng.random() < 0.85 else []
    return [*prefix, trade or rng.choice(TRADES), rng.choice(OWNERS)]


def _row(rng: random.Random, group: int, side_m: float) -> list[Entity]:
    size = rng.choices((1, 2, 3, 4, 5, 6), weights=(25, 20, 20, 15, 10, 10))[0]
    species = rng.choice(SPECIES)
    girth = rng.uniform(40, 220)
    return [
        Entity(
            id=f"tree-{group}-{n}",
            kind="tree",
            lat=lat,
            lon=lon,
            species="ต้น" + (species if rng.random() < 0.8 else rng.choice(SPECIES)),
            girth_cm=max(15, round(girth + rng.gauss(0, 20))),
            group=group,
        )
        for n, (lat, lon) in enumerate(_line(rng, size, side_m, 8, 20))
    ]


def _line(rng: random.Random, size: int, side_m: float, low: float, high: float) -> list[tuple[float, float]]:
    """Points along a street from a random start, consecutive ones `low`-`high` metres apart."""
    x, y = rng.uniform(-side_m / 2, side_m / 2), rng.uniform(-side_m / 2, side_m / 2)
    bearing = rng.uniform(0, 2 * math.pi)
    points = []
    for n in range(size):
        if n:
            step = rng.uniform(low, high)
            x, y = x + step * math.sin(bearing), y + step * math.cos(bearing)
        points.append(_offset(CENTRE, x, y))
    return points


def _offset(origin: tuple[float, float], east_m: float, north_m: float) -> tuple[float, float]:
    lat = origin[0] + north_m / M_PER_DEG_LAT
    return lat, origin[1] + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat)))


def _observe(rng: random.Random, entity: Entity, device: str, day: int, at: datetime) -> Planned:
    jitter = rng.uniform(3, 15)
    bearing = rng.uniform(0, 2 * math.pi)
    lat, lon = _offset((entity.lat, entity.lon), jitter * math.sin(bearing), jitter * math.cos(bearing))
    accuracy = round(max(2.0, jitter * rng.uniform(0.7, 1.5)), 1)
    answers: dict[str, Any] = {"location": {"lat": round(lat, 7), "lon": round(lon, 7), "accuracy": accuracy}}
    variant: list[str] = []
    if entity.kind == "shop":
        name, variant = _shop_name(rng, entity.parts)
        if name:
            answers["shop_name"] = name
    else:
        species, variant = _species(rng, entity.species or "")
        if species:
            answers["species"] = species
        if rng.random() < 0.92:
            girth = (entity.girth_cm or 0) + round(rng.gauss(0, 2))
            answers["girth_cm"] = 5 * round(girth / 5) if rng.random() < 0.2 else girth
        else:
            variant.append("no_girth")
    submission = {
        "uuid": _uuid(rng),
        "form": "shops" if entity.kind == "shop" else "trees",
        "version": VERSION,
        "record_id": None,
        "base_revision": None,
        "started_at": at.isoformat(),
        "ended_at": (at + timedelta(seconds=rng.randrange(60, 240))).isoformat(),
        "answers": answers,
    }
    return Planned(
        entity=entity.id,
        kind=entity.kind,
        device=device,
        day=day,
        double_tap=False,
        jitter_m=round(jitter, 2),
        variant=variant,
        submission=submission,
    )


def _double_tap(rng: random.Random, planned: Planned) -> Planned:
    sub = dict(planned.submission)
    for key in ("started_at", "ended_at"):
        sub[key] = (datetime.fromisoformat(sub[key]) + timedelta(minutes=1)).isoformat()
    sub["uuid"] = _uuid(rng)
    return msgspec.structs.replace(planned, double_tap=True, submission=sub)


def _shop_name(rng: random.Random, parts: list[str]) -> tuple[str, list[str]]:
    """The name as one volunteer typed it, and what was done to it."""
    if rng.random() < 0.04:
        return "", ["empty"]
    words, done = list(parts), []
    if len(words) == 3 and rng.random() < 0.05:
        words, done = ([words[0], words[2]] if rng.random() < 0.5 else [words[2]]), ["short"]
    elif words[0] == "ร้าน" and rng.random() < 0.2:
        words, done = words[1:], ["no_prefix"]
    words, done = _typo(rng, words, done, 0.12)
    text = _join(rng, words, done)
    if any(not c.isascii() and _latin(c) for c in text) and rng.random() < 0.5:
        text, done = unicodedata.normalize("NFD", text), [*done, "nfd"]
    if text.isascii() and rng.random() < 0.2:
        text, done = (text.upper() if rng.random() < 0.5 else text.lower()), [*done, "case"]
    return text, done


def _species(rng: random.Random, species: str) -> tuple[str, list[str]]:
    if rng.random() < 0.03:
        return "", ["empty"]
    words, done = ["ต้น", species.removeprefix("ต้น")], []
    if rng.random() < 0.3:
        words, done = words[1:], ["no_prefix"]
    words, done = _typo(rng, words, done, 0.08)
    return _join(rng, words, done), done


def _typo(rng: random.Random, words: list[str], done: list[str], rate: float) -> tuple[list[str], list[str]]:
    if rng.random() >= rate:
        return words, done
    n = max(range(len(words)), key=lambda i: (len(words[i]), -i))  # the longest word
    word, kind = words[n], rng.choice(("drop", "swap", "tone"))
    tones = [i for i, c in enumerate(word) if c in TONE_MARKS]
    if kind == "tone" and tones:
        i = rng.choice(tones)
        word = word[:i] + word[i + 1 :]
    elif kind == "swap" and len(word) > 2:
        i = rng.randrange(len(word) - 1)
        word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    else:
        kind, i = "drop", rng.randrange(len(word))
        word = word[:i] + word[i + 1 :]
    return [*words[:n], word, *words[n + 1 :]], [*done, f"typo_{kind}"]


def _join(rng: random.Random, words: list[str], done: list[str]) -> str:
    """Words joined as typed: run together, with spaces, or with a zero-width space (Thai keyboards)."""
    roll = rng.random()
    if len(words) < 2 or roll >= 0.45:
        return name_of(words)
    if roll < 0.3:
        done.append("spaces")
        return " ".join(words)
    done.append("zwsp")
    return ZWSP.join(words)


def _latin(text: str) -> bool:
    return any("LATIN" in unicodedata.name(c, "") for c in text)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
