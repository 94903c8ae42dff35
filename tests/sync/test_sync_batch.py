import json
from datetime import UTC, datetime

import msgspec
import pytest

from sync.batch import (
    DUPLICATE,
    MAX_ITEMS,
    REJECTED,
    BatchResult,
    ItemError,
    ItemResult,
    SubmissionIn,
    decode_batch,
    find_repeated_uuids,
    parse_item,
)
from sync.errors import MalformedBatch, TooManyItems, UnsupportedMedia
from sync.hashing import content_hash
from tests.factories import batch, item


def body(items, media="json", **envelope):
    doc = batch(*items, **envelope)
    return json.dumps(doc).encode() if media == "json" else msgspec.msgpack.encode(doc)


def parsed(items, media="json"):
    return [parse_item(raw, media) for raw in decode_batch(body(items, media), media).submissions]


@pytest.mark.parametrize("media", ["json", "msgpack"])
def test_good_item_decodes_with_unknown_fields_accepted(media):
    sent = item(started_at="2026-11-20T09:12:00+07:00", app_build=42, meta={"x": 1})
    [sub] = parsed([sent], media)
    assert isinstance(sub, SubmissionIn)
    assert sub.uuid == sent["uuid"] and sub.answers == sent["answers"]
    assert sub.started_at == datetime(2026, 11, 20, 2, 12, tzinfo=UTC)


def test_batch_envelope_accepts_unknown_fields_and_reads_sent_at():
    decoded = decode_batch(body([item()], app_version="1.2"), "json")
    assert decoded.device_id == "tablet-07"
    assert decoded.sent_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_empty_batch_is_valid():
    assert decode_batch(body([]), "json").submissions == []


@pytest.mark.parametrize(
    ("raw", "message", "loc"),
    [
        (b"not json", "body is not valid json", []),
        (b"[1, 2]", "not a batch", []),
        (b'{"device_id": "x"}', "not a batch", []),
        (b'{"submissions": {"a": 1}}', "not a batch", ["submissions"]),
        (b'{"submissions": []', "body is not valid json", []),
    ],
)
def test_not_a_batch_is_malformed(raw, message, loc):
    """Bad syntax and a wrong shape are told apart, and a wrong `submissions` is named."""
    with pytest.raises(MalformedBatch) as err:
        decode_batch(raw, "json")
    assert err.value.message.startswith(message) and err.value.loc == loc


def test_malformed_batch_names_the_bad_envelope_field():
    with pytest.raises(MalformedBatch) as err:
        decode_batch(body([], sent_at="yesterday"), "json")
    assert err.value.loc == ["sent_at"]


def test_more_than_1000_items_is_refused():
    decode_batch(body([item()] * MAX_ITEMS), "json")
    with pytest.raises(TooManyItems) as err:
        decode_batch(body([item()] * (MAX_ITEMS + 1)), "json")
    assert err.value.count == 1001 and err.value.limit == 1000


def test_unknown_media_is_refused():
    with pytest.raises(UnsupportedMedia):
        decode_batch(b"{}", "xml")  # type: ignore[arg-type]


def test_nan_in_msgpack_costs_only_that_item():
    results = parsed(
        [item(uuid="good"), item(uuid="bad", answers={"width_m": float("nan"), "x": [1, float("inf")]})],
        "msgpack",
    )
    assert isinstance(results[0], SubmissionIn)
    bad = results[1]
    assert isinstance(bad, ItemError) and bad.uuid == "bad"
    assert {(tuple(p.loc), p.code) for p in bad.errors} == {
        (("answers", "width_m"), "not_finite"),
        (("answers", "x", 1), "not_finite"),
    }


def test_json_number_out_of_range_is_reported_per_item():
    raw = b'{"submissions": [{"uuid": "big", "form": "f", "version": "1", "answers": {"width_m": 1e999}}]}'
    [bad] = [parse_item(r, "json") for r in decode_batch(raw, "json").submissions]
    assert isinstance(bad, ItemError) and bad.uuid == "big"
    assert [(p.loc, p.code) for p in bad.errors] == [(["answers", "width_m"], "not_finite")]


def test_uuid_not_a_string_is_reported_and_not_recovered():
    [bad] = parsed([item(uuid=12345)])
    assert isinstance(bad, ItemError) and bad.uuid is None
    assert [(p.loc, p.code) for p in bad.errors] == [(["uuid"], "wrong_type")]


def test_missing_uuid_is_reported():
    doc = item()
    del doc["uuid"]
    [bad] = parsed([doc])
    assert isinstance(bad, ItemError) and bad.uuid is None
    assert [(p.loc, p.code) for p in bad.errors] == [(["uuid"], "missing")]


def test_answers_a_list_keeps_the_uuid_and_says_so():
    sent = item() | {"answers": [1, 2]}
    [bad] = parsed([sent])
    assert isinstance(bad, ItemError) and bad.uuid == sent["uuid"]
    assert bad.errors[0].loc == ["answers"] and "list" in bad.errors[0].message


def test_every_wrong_type_is_listed_at_once():
    sent = item(form=7, base_revision="two", record_id="r-1", started_at="noon")
    [bad] = parsed([sent])
    assert isinstance(bad, ItemError) and bad.uuid == sent["uuid"]
    assert {p.loc[0] for p in bad.errors} == {"form", "base_revision", "started_at"}


@pytest.mark.parametrize("value", ["a string", 3, None, ["list"]])
def test_item_not_an_object(value):
    [bad] = parsed([value])
    assert isinstance(bad, ItemError) and bad.uuid is None
    assert bad.errors[0].code == "not_an_object"


def test_edit_needs_both_record_id_and_base_revision():
    [bad] = parsed([item(record_id="r-1")])
    assert isinstance(bad, ItemError) and bad.errors[0].code == "incomplete_edit"
    [ok] = parsed([item(record_id="r-1", base_revision=3)])
    assert isinstance(ok, SubmissionIn) and ok.base_revision == 3


def test_one_bad_item_never_costs_the_others():
    results = parsed([item(), item() | {"answers": "oops"}, item()])
    assert [type(r).__name__ for r in results] == ["SubmissionIn", "ItemError", "SubmissionIn"]


def test_repeated_uuids_in_a_batch():
    first = item()
    again = [first, item(uuid=first["uuid"], answers={"shop_name": "x"}), item(), first]
    subs = [s for s in parsed(again) if isinstance(s, SubmissionIn)]
    keys = [(s.uuid, content_hash(s.form, s.version, s.record_id, s.base_revision, s.answers)) for s in subs]
    repeats = find_repeated_uuids([*keys, (None, None)])
    assert set(repeats) == {1, 3}
    assert (repeats[1].status, repeats[1].code, repeats[1].first_index) == (REJECTED, "uuid_conflict", 0)
    assert (repeats[3].status, repeats[3].first_index) == (DUPLICATE, 0)


def test_results_encode_to_the_documented_shape():
    result = BatchResult(
        results=[ItemResult(uuid="u", status="accepted", record_id="r", revision=1)],
        server_time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    doc = json.loads(msgspec.json.encode(result))
    assert doc["results"][0] == {
        "uuid": "u", "status": "accepted", "record_id": "r", "revision": 1, "duplicate_of": None,
        "score": None, "conflict_id": None, "issues": [], "errors": [],
    }  # fmt: skip
