"""What the volunteer reads on the tablet after sending: one sentence per outcome, in English or Thai.

Every outcome of the intake is a success for ODK Collect except a reused instanceID with other
content (409); the sentence says which it was, so a volunteer knows a near-duplicate was merged or an
edit waits for the coordinator without opening the server.
"""

from __future__ import annotations

from sync import batch as wire

STORED = {
    wire.ACCEPTED: ("Received. Thank you!", "ได้รับข้อมูลแล้ว ขอบคุณครับ/ค่ะ"),
    wire.MERGED: (
        "Received: your edit was merged with the changes made meanwhile.",
        "ได้รับแล้ว: การแก้ไขของคุณถูกรวมกับการเปลี่ยนแปลงที่เกิดขึ้นระหว่างนั้น",
    ),
    wire.CONFLICT: (
        "Received: your edit and another one changed the same answers; a coordinator will choose.",
        "ได้รับแล้ว: การแก้ไขของคุณและของผู้อื่นเปลี่ยนคำตอบเดียวกัน ผู้ประสานงานจะเป็นผู้ตัดสิน",
    ),
    wire.MERGED_DUPLICATE: (
        "Received: this place was already surveyed, so your answers were added to that record.",
        "ได้รับแล้ว: สถานที่นี้เคยสำรวจแล้ว คำตอบของคุณถูกรวมเข้ากับข้อมูลเดิม",
    ),
    wire.POSSIBLE_DUPLICATE: (
        "Received: it looks like a record surveyed nearby; a coordinator will check it.",
        "ได้รับแล้ว: ข้อมูลนี้อาจซ้ำกับที่สำรวจไว้ใกล้กัน ผู้ประสานงานจะตรวจสอบ",
    ),
    wire.REJECTED: (
        "Received, but it does not fit the form ({reason}); it is kept for a coordinator to check.",
        "ได้รับแล้ว แต่ข้อมูลไม่ตรงกับแบบฟอร์ม ({reason}) จึงเก็บไว้ให้ผู้ประสานงานตรวจสอบ",
    ),
}
RESENT = (
    "Already received; nothing was lost.",
    "ได้รับข้อมูลนี้ไว้แล้ว ไม่มีข้อมูลสูญหาย",
)
REUSED_ID = (
    "Another submission with this ID was received before; this one is kept for a coordinator to check.",
    "เคยได้รับแบบสำรวจที่มีรหัสนี้แต่เนื้อหาต่างกัน ข้อมูลนี้ถูกเก็บไว้ให้ผู้ประสานงานตรวจสอบ",
)


def wants_thai(accept_language: str | None, form_language: str | None) -> bool:
    """Thai when the tablet asks for it first (Accept-Language), else when the form is Thai first."""
    if accept_language:
        first = accept_language.split(",")[0].split(";")[0].strip().lower()
        if first:
            return first == "th" or first.startswith("th-")
    return (form_language or "").lower().startswith("th")


def say(pair: tuple[str, str], thai: bool, **values: str) -> str:
    return pair[1 if thai else 0].format(**values)
