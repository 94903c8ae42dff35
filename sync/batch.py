"""Batch wire types and decoding: a body is checked as a whole only for shape, each item on its own.

The batch keeps its items as `msgspec.Raw` so one bad item (a NaN, a list where answers belong, a
numeric uuid) is reported against that item while the rest of the batch is stored. Wire types accept
unknown fields so tablets running older or newer apps keep working. A batch of zero items is valid:
it yields zero results (a tablet may ping with an empty batch to learn the server time).

Problem `loc`s from `parse_item` are relative to the item (`["answers", "width_m"]`); the shell
prefixes `["submissions", index]` when it builds a problem document.
"""

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Final, Literal, get_args

import msgspec

from forms.checks import MAX_NAME_LENGTH  # the form key and version rule: one length for both ends
from forms.errors import Problem
from sync import split
from sync.errors import MalformedBatch, TooManyItems, UnsupportedMedia

MAX_ITEMS = 1000
MAX_DEPTH = 32  # nesting of an item's answers: groups, repeats and geometries need a handful
MAX_TEXT_BYTES = 64 * 1024  # one text answer, in UTF-8; the shell passes its setting

Media = Literal["json", "msgpack"]

# What became of an item; msgspec checks it wherever a result is decoded.
Status = Literal[
    "accepted", "merged", "conflict", "merged_duplicate", "possible_duplicate", "duplicate", "rejected"
]
ACCEPTED: Final = "accepted"
MERGED: Final = "merged"
CONFLICT: Final = "conflict"
MERGED_DUPLICATE: Final = "merged_duplicate"
POSSIBLE_DUPLICATE: Final = "possible_duplicate"
DUPLICATE: Final = "duplicate"
REJECTED: Final = "rejected"
STATUSES: tuple[Status, ...] = get_args(Status)
# What placing an item among existing records decides (a `sync.dedup.Decision` other than "new"):
# merge it into its match (a merged_duplicate) or queue the pair for review (a possible_duplicate).
Placed = Literal["merge", "review"]

# Names and ids: PostgreSQL text refuses NUL, and no control character belongs in one.
NonEmpty = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"^[^\x00-\x1f\x7f]*$")
]
Revision = Annotated[int, msgspec.Meta(ge=1)]


class SubmissionIn(msgspec.Struct, frozen=True, kw_only=True):
    """One submission as a tablet sends it; answers stay untyped until the form's validator sees them."""

    uuid: NonEmpty
    form: NonEmpty
    version: NonEmpty
    record_id: NonEmpty | None = None
    base_revision: Revision | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    answers: dict[str, Any]


class Batch(msgspec.Struct, frozen=True, kw_only=True):
    """A request body; items stay raw so each is judged on its own."""

    device_id: str | None = None
    sent_at: datetime | None = None
    submissions: list[msgspec.Raw]


class ItemError(msgspec.Struct, frozen=True, kw_only=True):
    """An item that cannot become a SubmissionIn; what it names is recovered where it was usable text."""

    uuid: str | None
    errors: list[Problem]
    form: str | None = None
    version: str | None = None


class ItemResult(msgspec.Struct, frozen=True, kw_only=True):
    """What became of one item; `status` is one of STATUSES, so received = the sum over statuses."""

    uuid: str | None
    status: Status
    record_id: str | None = None
    revision: int | None = None
    duplicate_of: str | None = None
    score: float | None = None
    conflict_id: str | None = None
    issues: list[Problem] = []
    errors: list[Problem] = []


class BatchResult(msgspec.Struct, frozen=True, kw_only=True):
    """One result per received item, in request order, plus the clock the tablet should trust."""

    results: list[ItemResult]
    server_time: datetime


class RepeatedUuid(msgspec.Struct, frozen=True, kw_only=True):
    """A later item reusing an earlier item's uuid in the same batch, and what becomes of it."""

    index: int
    first_index: int
    status: Literal["duplicate", "rejected"]  # duplicate: same content, the first result; else uuid_conflict
    code: str


_BATCH = {"json": msgspec.json.Decoder(Batch), "msgpack": msgspec.msgpack.Decoder(Batch)}
_ITEM = {"json": msgspec.json.Decoder(SubmissionIn), "msgpack": msgspec.msgpack.Decoder(SubmissionIn)}
# The slow path reads an item untyped; JSON's float_hook turns 1e999 into inf so it can be located.
_ANY = {"json": msgspec.json.Decoder(float_hook=float), "msgpack": msgspec.msgpack.Decoder()}
_LOC = re.compile(r"at `\$([^`]*)`")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


def decode_batch(body: bytes, media: Media) -> Batch:
    """Check only the envelope: anything wrong inside an item is left for `parse_item`."""
    decoder = _BATCH.get(media)
    if decoder is None:
        raise UnsupportedMedia(f"unsupported media {media!r}; use json or msgpack")
    try:
        batch = decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise MalformedBatch(f"not a batch: {exc}", _loc_of(exc)) from None
    except (msgspec.DecodeError, RecursionError) as exc:
        # One item's bad bytes (a lone surrogate, NaN) or depth fail msgspec's pass over the whole
        # body: split its top level by hand, so each item is judged alone.
        try:
            batch = _split_batch(body, media)
        except MalformedBatch:
            if isinstance(exc, RecursionError):
                raise
            raise MalformedBatch(f"body is not valid {media}: {exc}") from None
    if len(batch.submissions) > MAX_ITEMS:
        raise TooManyItems(len(batch.submissions), MAX_ITEMS)
    return batch


def parse_item(raw: msgspec.Raw, media: Media, max_text: int = MAX_TEXT_BYTES) -> SubmissionIn | ItemError:
    """Typed fast path first; on failure re-read the item untyped to report every problem it has.

    JSON decoded typed holds only strings, finite numbers, lists and string-keyed objects, so its
    values need a walk only when the item is long enough to hide an over-long text; MessagePack can
    carry NaN, bytes, extension types and other keys, so its values are always walked.
    """
    try:
        item = _ITEM[media].decode(raw)
    except msgspec.DecodeError as exc:
        return _diagnose(raw, media, exc, max_text)
    except RecursionError:
        return _too_deep(raw, media)
    walk = media == "msgpack" or len(raw) > max_text
    problems = check_values(item.answers, ["answers"], max_text) if walk else []
    problems += _edit_pair(item.record_id, item.base_revision)
    if problems:
        return ItemError(uuid=item.uuid, errors=problems, form=item.form, version=item.version)
    return item


def find_repeated_uuids(items: Sequence[tuple[str | None, str | None]]) -> dict[int, RepeatedUuid]:
    """Given (uuid, content_hash) per item, say what each later reuse of a uuid in this batch is.

    The first occurrence is processed normally; a later one with the same hash is a `duplicate`, with
    another hash it is `rejected` as `uuid_conflict`. Items without a uuid or hash (unparseable) are
    skipped: the shell's unique index on uuid settles those against the stored log.
    """
    first: dict[str, tuple[int, str]] = {}
    repeats: dict[int, RepeatedUuid] = {}
    for index, (uuid, digest) in enumerate(items):
        if uuid is None or digest is None:
            continue
        seen = first.get(uuid)
        if seen is None:
            first[uuid] = (index, digest)
        elif seen[1] == digest:
            repeats[index] = RepeatedUuid(
                index=index, first_index=seen[0], status=DUPLICATE, code="duplicate"
            )
        else:
            repeats[index] = RepeatedUuid(
                index=index, first_index=seen[0], status=REJECTED, code="uuid_conflict"
            )
    return repeats


def _diagnose(raw: msgspec.Raw, media: Media, exc: msgspec.DecodeError, max_text: int) -> ItemError:
    try:
        obj = _ANY[media].decode(raw)
    except msgspec.DecodeError as again:
        return ItemError(uuid=None, errors=[_problem([], "malformed", f"item is not valid {media}: {again}")])
    except RecursionError:
        return _too_deep(raw, media)
    if not isinstance(obj, dict):
        return ItemError(
            uuid=None, errors=[_problem([], "not_an_object", f"item must be an object, got {_kind(obj)}")]
        )
    uuid = obj.get("uuid")
    problems = _check_text(obj, "uuid", required=True)
    problems += _check_text(obj, "form", required=True) + _check_text(obj, "version", required=True)
    problems += _check_text(obj, "record_id", required=False)
    problems += _check_revision(obj.get("base_revision"))
    problems += _check_time(obj, "started_at") + _check_time(obj, "ended_at")
    answers = obj.get("answers")
    if "answers" not in obj:
        problems.append(_problem(["answers"], "missing", "answers is required"))
    elif not isinstance(answers, dict):
        problems.append(
            _problem(["answers"], "wrong_type", f"answers must be an object, got {_kind(answers)}")
        )
    else:
        problems += check_values(answers, ["answers"], max_text)
    if not problems:  # something the checks above do not know about; msgspec's own words then
        problems.append(_problem(_loc_of(exc), "invalid", str(exc)))
    return ItemError(
        uuid=_name(uuid), errors=problems, form=_name(obj.get("form")), version=_name(obj.get("version"))
    )


def _too_deep(raw: msgspec.Raw, media: Media) -> ItemError:
    """An item nested past what can be decoded; what it names is read from its top level alone."""
    names: dict[str, str | None] = {"uuid": None, "form": None, "version": None}
    try:
        members = split.json_members(bytes(raw)) if media == "json" else split.msgpack_members(bytes(raw))
        for key, value in members:
            name = _ANY[media].decode(key)
            if name in names:
                names[name] = _name(_ANY[media].decode(value))
    except (MalformedBatch, msgspec.DecodeError, RecursionError):
        pass
    message = f"the item is nested too deeply to be read (answers may nest at most {MAX_DEPTH} levels)"
    return ItemError(errors=[_problem([], "too_deep", message)], **names)


def _split_batch(body: bytes, media: Media) -> Batch:
    """The batch of a body too deep for msgspec to split: its top level read without recursion."""
    members = split.json_members(body) if media == "json" else split.msgpack_members(body)
    envelope: dict[str, Any] = {}
    items: list[msgspec.Raw] | None = None
    for key, value in members:
        try:
            name = _ANY[media].decode(key)
            if name == "submissions":
                parts = split.json_elements(value) if media == "json" else split.msgpack_elements(value)
                items = [msgspec.Raw(part) for part in parts]
            elif name in ("device_id", "sent_at"):
                envelope[name] = _ANY[media].decode(value)
        except RecursionError:
            raise MalformedBatch(f"not a batch: {name!r} is nested too deeply", [str(name)]) from None
        except msgspec.DecodeError as exc:
            raise MalformedBatch(f"body is not valid {media}: {exc}") from None
    if items is None:
        raise MalformedBatch("not a batch: Object missing required field `submissions`")
    try:
        head = msgspec.convert({**envelope, "submissions": []}, Batch)
    except msgspec.ValidationError as exc:
        raise MalformedBatch(f"not a batch: {exc}", _loc_of(exc)) from None
    return msgspec.structs.replace(head, submissions=items)


def _name(value: Any) -> str | None:
    """A uuid, form or version worth keeping beside a rejected item: usable text, else None."""
    if isinstance(value, str) and 0 < len(value) <= MAX_NAME_LENGTH and not _CONTROL.search(value):
        return value
    return None


def _check_text(obj: dict[Any, Any], key: str, *, required: bool) -> list[Problem]:
    value = obj.get(key)
    if value is None:
        return [_problem([key], "missing", f"{key} is required")] if required else []
    if not isinstance(value, str):
        return [_problem([key], "wrong_type", f"{key} must be a string, got {_kind(value)}")]
    if not 0 < len(value) <= MAX_NAME_LENGTH:
        return [_problem([key], "invalid", f"{key} must be 1 to {MAX_NAME_LENGTH} characters long")]
    if _CONTROL.search(value):
        return [_problem([key], "invalid", f"{key} must not contain control characters")]
    return []


def _check_revision(value: Any) -> list[Problem]:
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        return [
            _problem(["base_revision"], "wrong_type", f"base_revision must be an integer, got {_kind(value)}")
        ]
    return [] if value >= 1 else [_problem(["base_revision"], "invalid", "base_revision must be at least 1")]


def _check_time(obj: dict[Any, Any], key: str) -> list[Problem]:
    value = obj.get(key)
    if value is None:
        return []
    try:
        msgspec.convert(value, datetime)
    except msgspec.ValidationError:
        return [_problem([key], "invalid", f"{key} must be an RFC 3339 timestamp, got {value!r:.60}")]
    return []


def _edit_pair(record_id: str | None, base_revision: int | None) -> list[Problem]:
    if (record_id is None) == (base_revision is None):
        return []
    missing = "base_revision" if base_revision is None else "record_id"
    return [_problem([missing], "incomplete_edit", "an edit needs both record_id and base_revision")]


def check_values(value: Any, loc: list[str | int], max_text: int = MAX_TEXT_BYTES) -> list[Problem]:
    """Name every value that cannot be stored or exported: NaN and infinities, keys that are not
    text, bytes and extension types, texts over `max_text` bytes, nesting past MAX_DEPTH.

    Iterative, so no depth of input can exhaust the stack.
    """
    found: list[Problem] = []
    stack: list[tuple[Any, list[str | int]]] = [(value, loc)]
    while stack:
        node, where = stack.pop()
        kind = type(node)
        if kind is str:
            if len(node) * 4 > max_text and len(node.encode("utf-8", "surrogatepass")) > max_text:
                message = f"a text answer may be at most {max_text // 1024} kB (SURVEY_MAX_TEXT_KB)"
                found.append(_problem(where, "too_long", message))
        elif kind is float:
            if not math.isfinite(node):
                found.append(_problem(where, "not_finite", f"{node!r} is not a finite number"))
        elif kind is dict or kind is list:
            if len(where) - len(loc) >= MAX_DEPTH:
                found.append(_problem(where, "too_deep", f"answers may nest at most {MAX_DEPTH} levels"))
                continue
            pairs = node.items() if kind is dict else enumerate(node)
            for key, sub in reversed(list(pairs)):
                if kind is dict and type(key) is not str:
                    found.append(_problem([*where, str(key)], "wrong_type", "object keys must be strings"))
                stack.append((sub, [*where, key if kind is list else str(key)]))
        elif not (node is None or kind is int or kind is bool):
            message = f"{_kind(node)} values cannot be stored; send text, numbers, lists or objects"
            found.append(_problem(where, "unsupported_type", message))
    return found


def _loc_of(exc: Exception) -> list[str | int]:
    match = _LOC.search(str(exc))
    if match is None:
        return []
    loc: list[str | int] = []
    for name, index in _SEGMENT.findall(match.group(1)):
        loc.append(name if name else (int(index) if index.isdigit() else "..."))
    return loc


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    names |= {bytes: "binary", msgspec.msgpack.Ext: "MessagePack extension"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _problem(loc: list[str | int], code: str, message: str) -> Problem:
    return Problem(loc=loc, code=code, message=message)
