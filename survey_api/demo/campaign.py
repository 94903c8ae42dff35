"""The demo's campaign in Nakhon Ratchasima (Korat), around the old city moat: forms, areas, indicators,
people and the submissions a week of field work would bring. Data only, made the same way every time."""

from __future__ import annotations

import io
import random
import uuid
from typing import Any

import openpyxl

SOUTH, NORTH, WEST, EAST = 14.966, 14.984, 102.086, 102.114  # the old city inside the moat
AUDIT, SPACES = "sidewalk_audit", "public_space"
VOLUNTEERS = ["somchai", "malee", "anan", "pim", "kittisak"]
PER_VOLUNTEER = 50  # sidewalk audits each; public spaces come on top
NAMESPACE = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
COLS, ROWS = 60, 39
TH_EN = ["label::Thai (th)", "label::English (en)"]


def audit_workbook() -> bytes:
    """The sidewalk audit as a coordinator writes it: an XLSForm in Thai and English."""
    survey = [
        ["type", "name", *TH_EN, "required", "constraint", "sensitive"],
        ["start", "start", None, None, None, None, None],
        ["end", "end", None, None, None, None, None],
        ["geopoint", "location", "ตำแหน่ง", "Location", "yes", None, None],
        ["text", "shop_name", "ชื่อร้าน", "Shop name", None, None, None],
        ["select_one surface", "surface", "ผิวทางเท้า", "Surface", "yes", None, None],
        ["select_one yes_no", "walkable", "เดินได้สะดวก", "Walkable", "yes", None, None],
        ["decimal", "width_m", "ความกว้าง (ม.)", "Width (m)", None, ". >= 0 and . <= 20", None],
        ["select_multiple obstacle", "obstacles", "สิ่งกีดขวาง", "Obstacles", None, None, None],
        ["select_one yes_no", "ramp", "ทางลาด", "Kerb ramp", None, None, None],
        ["select_one yes_no", "street_tree", "ต้นไม้ริมทาง", "Street tree", None, None, None],
        ["text", "owner_phone", "เบอร์โทรเจ้าของ", "Owner's phone", None, None, "yes"],
        ["image", "shopfront", "รูปหน้าร้าน", "Shop front", None, None, None],
    ]
    choices = [
        ["list_name", "name", *TH_EN],
        ["surface", "concrete", "คอนกรีต", "Concrete"],
        ["surface", "brick", "อิฐ", "Brick"],
        ["surface", "none", "ไม่มีทางเท้า", "No sidewalk"],
        ["yes_no", "yes", "ใช่", "Yes"],
        ["yes_no", "no", "ไม่ใช่", "No"],
        ["obstacle", "vendor", "แผงลอย", "Street vendor"],
        ["obstacle", "pole", "เสาไฟฟ้า", "Pole"],
        ["obstacle", "parked_car", "รถจอด", "Parked car"],
    ]
    settings = [
        ["form_id", "version", "form_title", "default_language"],
        [AUDIT, "2026-11-20", "สำรวจทางเท้า / Sidewalk audit", "Thai (th)"],
    ]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    for title, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        target = sheet if title == "survey" else book.create_sheet(title)
        for row in rows:
            target.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def spaces_form(version: int) -> dict[str, Any]:
    """Public spaces as JSON; version 2 (mid-campaign) renames `kind` to `space_type` and adds `seating`."""
    kind = "kind" if version == 1 else "space_type"
    fields: list[dict[str, Any]] = [
        {
            "name": "location",
            "type": "geopoint",
            "required": True,
            "label": {"th": "ตำแหน่ง", "en": "Location"},
        },
        {"name": "place_name", "type": "text", "label": {"th": "ชื่อสถานที่", "en": "Place name"}},
        {"name": kind, "type": "select_one", "choices": "space", "label": {"th": "ประเภท", "en": "Kind"}},
        {
            "name": "shade",
            "type": "select_one",
            "choices": "yes_no",
            "label": {"th": "มีร่มเงา", "en": "Shade"},
        },
        {"name": "visitors", "type": "integer", "label": {"th": "จำนวนผู้ใช้", "en": "Visitors counted"}},
        {"name": "surveyed_on", "type": "date", "label": {"th": "วันที่สำรวจ", "en": "Surveyed on"}},
    ]
    if version == 2:
        fields[2]["renamed_from"] = "kind"
        fields.insert(4, {"name": "seating", "type": "integer", "label": {"th": "ที่นั่ง", "en": "Seats"}})
    yes_no = [
        {"value": "yes", "label": {"th": "ใช่", "en": "Yes"}},
        {"value": "no", "label": {"th": "ไม่ใช่", "en": "No"}},
    ]
    return {
        "key": SPACES,
        "version": f"v{version}",
        "title": {"th": "พื้นที่สาธารณะ", "en": "Public space"},
        "default_language": "th",
        "fields": fields,
        "choices": {
            "space": [
                {"value": "park", "label": {"th": "สวน", "en": "Park"}},
                {"value": "plaza", "label": {"th": "ลาน", "en": "Plaza"}},
                {"value": "temple_ground", "label": {"th": "ลานวัด", "en": "Temple ground"}},
                {"value": "market", "label": {"th": "ตลาด", "en": "Market"}},
            ],
            "yes_no": yes_no,
        },
    }


def _box(code: str, name: str, south: float, north: float, west: float, east: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def districts() -> dict[str, Any]:
    """Four quarters of the old city, split at its two main axes."""
    mid_lat, mid_lon = (SOUTH + NORTH) / 2, (WEST + EAST) / 2
    quarters = [
        ("NW", "ตะวันตกเฉียงเหนือ (North-west)", mid_lat, NORTH, WEST, mid_lon),
        ("NE", "ตะวันออกเฉียงเหนือ (North-east)", mid_lat, NORTH, mid_lon, EAST),
        ("SW", "ตะวันตกเฉียงใต้ (South-west)", SOUTH, mid_lat, WEST, mid_lon),
        ("SE", "ตะวันออกเฉียงใต้ (South-east)", SOUTH, mid_lat, mid_lon, EAST),
    ]
    return {"type": "FeatureCollection", "features": [_box(*q) for q in quarters]}


def blocks(rows: int = 3, cols: int = 4) -> dict[str, Any]:
    """A grid of city blocks, about 600 m by 700 m each."""
    dlat, dlon = (NORTH - SOUTH) / rows, (EAST - WEST) / cols
    features = [
        _box(
            f"B{r + 1}{c + 1}",
            f"บล็อก {r + 1}-{c + 1}",
            SOUTH + r * dlat,
            SOUTH + (r + 1) * dlat,
            WEST + c * dlon,
            WEST + (c + 1) * dlon,
        )
        for r in range(rows)
        for c in range(cols)
    ]
    return {"type": "FeatureCollection", "features": features}


def project_area() -> dict[str, Any]:
    """The area of interest: the moat with a 300 m margin; points outside it are flagged."""
    m = 0.003
    ring = [[WEST - m, SOUTH - m], [EAST + m, SOUTH - m], [EAST + m, NORTH + m], [WEST - m, NORTH + m]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def indicators() -> list[dict[str, Any]]:
    """UN-Habitat Urban Monitoring Framework groups (domain/objective), each with a weight."""

    def one(
        key: str,
        en: str,
        th: str,
        form: str,
        aggregate: str,
        group: str,
        weight: float,
        where: dict[str, Any] | None = None,
        direction: str = "higher_better",
    ) -> dict[str, Any]:
        made = {
            "key": key,
            "label": {"en": en, "th": th},
            "form": form,
            "aggregate": aggregate,
            "group": group,
            "weight": weight,
            "direction": direction,
        }
        return made | ({"where": where} if where else {})

    return [
        one(
            "walkable_share",
            "Walkable sidewalk share",
            "สัดส่วนทางเท้าที่เดินได้",
            AUDIT,
            "share",
            "society/safe",
            2.0,
            {"walkable": "yes"},
        ),
        one(
            "obstructions_km2",
            "Obstructions per km²",
            "สิ่งกีดขวางต่อ ตร.กม.",
            AUDIT,
            "density_km2",
            "society/safe",
            1.5,
            {"obstacles": ["vendor", "pole", "parked_car"]},
            "lower_better",
        ),
        one(
            "trees_km2",
            "Street trees per km²",
            "ต้นไม้ริมทางต่อ ตร.กม.",
            AUDIT,
            "density_km2",
            "environment/sustainable",
            1.0,
            {"street_tree": "yes"},
        ),
        one("ramp_share", "Kerb ramps", "ทางลาด", AUDIT, "share", "society/inclusive", 1.0, {"ramp": "yes"}),
        one(
            "public_space_km2",
            "Public spaces per km²",
            "พื้นที่สาธารณะต่อ ตร.กม.",
            SPACES,
            "density_km2",
            "society/inclusive",
            1.0,
        ),
    ]


def spot(rng: random.Random, n: int, offset: float = 0.0) -> dict[str, float]:
    """The n-th place on a 50 m grid over the old city, spread by a fixed permutation (so ordinary
    records never look alike); `offset` moves a second form's places 20 m off the first one's."""
    cell = (n * 997) % (COLS * ROWS)
    lat = SOUTH + 0.0005 + (cell // COLS) * 0.00044 + offset
    lon = WEST + 0.0005 + (cell % COLS) * 0.00045 + offset
    jitter = 0.00003
    return {
        "lat": round(lat + rng.uniform(-jitter, jitter), 6),
        "lon": round(lon + rng.uniform(-jitter, jitter), 6),
        "accuracy": round(rng.uniform(3, 12), 1),
    }


SHOPS = ["ร้านข้าวแกง", "ร้านก๋วยเตี๋ยว", "ร้านกาแฟ", "ร้านขายยา", "ร้านโชห่วย", "ร้านซ่อมรถ", "ร้านทอง"]
SPACE_NAMES = ["สวนสาธารณะ", "ลานวัด", "ตลาดเช้า", "ลานย่าโม"]


def audit_answers(rng: random.Random, n: int) -> dict[str, Any]:
    walkable = rng.random() < 0.62
    return {
        "location": spot(rng, n),
        "shop_name": f"{rng.choice(SHOPS)} ซอย {n // 7 + 1} เลขที่ {n}",
        "surface": rng.choice(["concrete", "concrete", "brick", "none"]) if walkable else "none",
        "walkable": "yes" if walkable else "no",
        "width_m": round(rng.uniform(0.8, 3.2), 1) if walkable else 0.0,
        "obstacles": rng.sample(["vendor", "pole", "parked_car"], rng.choice([0, 0, 1, 1, 2])),
        "ramp": "yes" if rng.random() < 0.3 else "no",
        "street_tree": "yes" if rng.random() < 0.4 else "no",
        "owner_phone": f"08{rng.randrange(10_000_000, 99_999_999)}",
    }


def space_answers(rng: random.Random, n: int, version: int) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "location": spot(rng, 1200 + n, offset=0.0002),
        "place_name": f"{rng.choice(SPACE_NAMES)} แห่งที่ {n}",
        "kind" if version == 1 else "space_type": rng.choice(["park", "plaza", "temple_ground", "market"]),
        "shade": rng.choice(["yes", "no"]),
        "visitors": rng.randrange(0, 120),
        "surveyed_on": f"2026-11-{20 + n % 7:02d}",
    }
    if version == 2:
        answers["seating"] = rng.randrange(0, 40)
    return answers


def item(
    slug: str,
    label: str,
    form: str,
    version: str,
    answers: dict[str, Any],
    day: int = 20,
    hour: int = 9,
    **extra: Any,
) -> dict[str, Any]:
    """One sync item; its uuid is made from the project and a label, so a rebuild never reuses one."""
    return {
        "uuid": str(uuid.uuid5(NAMESPACE, f"{slug}/{label}")),
        "form": form,
        "version": version,
        "started_at": f"2026-11-{day:02d}T{hour:02d}:10:00+07:00",
        "ended_at": f"2026-11-{day:02d}T{hour:02d}:14:00+07:00",
        "answers": answers,
        **extra,
    }


def batch(device: str, items: list[dict[str, Any]], day: int = 20, year: int = 2026) -> dict[str, Any]:
    return {"device_id": device, "sent_at": f"{year}-11-{day:02d}T17:00:00+07:00", "submissions": items}
