import pytest

from sync import merge
from sync.errors import BadPath, InvalidChoice
from sync.merge import Conflicted, FieldConflict, Merged


def test_stale_edit_on_untouched_field_merges():
    base, head, edit = {"a": 1, "b": 2}, {"a": 5, "b": 2}, {"a": 1, "b": 3}
    assert merge.three_way(base, head, edit) == Merged(answers={"a": 5, "b": 3})


def test_both_changed_one_field_is_a_conflict_and_the_rest_applies():
    base, head, edit = {"a": 1, "b": 2, "c": 0}, {"a": 5, "b": 2, "c": 0}, {"a": 6, "b": 3, "c": 0}
    assert merge.three_way(base, head, edit) == Conflicted(
        answers={"a": 5, "b": 3, "c": 0}, fields=[FieldConflict(path="a", base=1, current=5, incoming=6)]
    )


def test_identical_edit_is_not_a_conflict():
    assert merge.three_way({"a": 1}, {"a": 7}, {"a": 7}) == Merged(answers={"a": 7})


def test_groups_merge_per_leaf():
    base = {"addr": {"street": "Mittraphap", "no": "1"}}
    head = {"addr": {"street": "Mittraphap Rd", "no": "1"}}
    edit = {"addr": {"street": "Mittraphap", "no": "12"}}
    assert merge.three_way(base, head, edit) == Merged(
        answers={"addr": {"street": "Mittraphap Rd", "no": "12"}}
    )


def test_group_conflict_path_is_slash_joined():
    result = merge.three_way({"g": {"x": 1}}, {"g": {"x": 2}}, {"g": {"x": 3}})
    assert isinstance(result, Conflicted) and result.fields[0].path == "g/x"


def test_repeats_of_equal_length_merge_per_item_field():
    base = {"trees": [{"species": "teak", "girth_cm": 90}, {"species": "neem", "girth_cm": 40}]}
    head = {"trees": [{"species": "teak", "girth_cm": 95}, {"species": "neem", "girth_cm": 40}]}
    edit = {"trees": [{"species": "teak", "girth_cm": 90}, {"species": "ต้นหูกวาง", "girth_cm": 40}]}
    assert merge.three_way(base, head, edit) == Merged(
        answers={"trees": [{"species": "teak", "girth_cm": 95}, {"species": "ต้นหูกวาง", "girth_cm": 40}]}
    )
    edit2 = {"trees": [{"species": "teak", "girth_cm": 99}, {"species": "neem", "girth_cm": 40}]}
    result = merge.three_way(base, head, edit2)
    assert isinstance(result, Conflicted) and [f.path for f in result.fields] == ["trees/0/girth_cm"]


def test_repeats_of_different_length_are_one_value():
    base = {"trees": [{"s": "a"}]}
    head = {"trees": [{"s": "a"}, {"s": "b"}]}
    edit = {"trees": [{"s": "c"}]}
    result = merge.three_way(base, head, edit)
    assert isinstance(result, Conflicted) and result.fields[0].path == "trees"
    assert result.answers == head
    # only the edit touched the repeat: it applies as a whole
    assert merge.three_way(base, base, head) == Merged(answers=head)


def test_removed_key_is_a_change_to_none():
    assert merge.three_way({"a": 1, "b": 2}, {"a": 1, "b": 2}, {"a": 1}) == Merged(answers={"a": 1})
    result = merge.three_way({"a": 1, "b": 2}, {"a": 1, "b": 5}, {"a": 1})
    assert isinstance(result, Conflicted) and result.fields == [
        FieldConflict(path="b", base=2, current=5, incoming=None)
    ]


def test_geopoint_is_never_merged_by_halves():
    base = {"location": {"lat": 14.97, "lon": 102.08}}
    head = {"location": {"lat": 14.98, "lon": 102.08}}
    edit = {"location": {"lat": 14.97, "lon": 102.09}}
    result = merge.three_way(base, head, edit)
    assert isinstance(result, Conflicted) and result.fields[0].path == "location"
    assert result.answers == head


def test_apply_choices():
    head = {"a": 5, "g": {"x": 2}, "c": 1}
    fields = [
        FieldConflict(path="a", base=1, current=5, incoming=6),
        FieldConflict(path="g/x", base=1, current=2, incoming=3),
        FieldConflict(path="c", base=0, current=1, incoming=2),
    ]
    out = merge.apply_choices(head, fields, {"a": "incoming", "g/x": {"value": 9}, "c": "current"})
    assert out == {"a": 6, "g": {"x": 9}, "c": 1}
    assert head == {"a": 5, "g": {"x": 2}, "c": 1}  # not mutated


@pytest.mark.parametrize(
    "choose",
    [
        {"a": "incoming"},
        {"a": "incoming", "b": "current", "zzz": "current"},
        {"a": "mine", "b": "current"},
        {"a": {"v": 1}, "b": "current"},
    ],
)
def test_apply_choices_refuses_undecided_unknown_or_bad(choose):
    fields = [
        FieldConflict(path="a", base=1, current=5, incoming=6),
        FieldConflict(path="b", base=1, current=2, incoming=3),
    ]
    with pytest.raises(InvalidChoice):
        merge.apply_choices({"a": 5, "b": 2}, fields, choose)


def test_paths():
    answers = {"g": {"x": 1}, "trees": [{"species": "teak"}]}
    assert merge.get_path(answers, "trees/0/species") == "teak"
    assert merge.get_path(answers, "trees/3/species", "none") == "none"
    assert merge.set_path(answers, "trees/0/species", "neem") == {
        "g": {"x": 1},
        "trees": [{"species": "neem"}],
    }
    assert merge.set_path(answers, "h/y", 2)["h"] == {"y": 2}
    assert answers["trees"][0]["species"] == "teak"
    with pytest.raises(BadPath):
        merge.set_path(answers, "trees/5/species", "x")


def test_changed_paths():
    old = {"a": 1, "g": {"x": 1, "y": 2}, "trees": [{"s": "a"}], "loc": {"lat": 1.0, "lon": 2.0}}
    new = {"a": 1, "g": {"x": 1, "y": 3}, "trees": [{"s": "b"}], "loc": {"lat": 1.0, "lon": 2.5}, "z": "new"}
    assert merge.changed_paths(old, new) == ["g/y", "trees/0/s", "loc", "z"]
    assert merge.changed_paths(old, old) == []
