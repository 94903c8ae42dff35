import pytest

from forms.checks import check, check_renames
from forms.decoding import decode_definition
from forms.diff import FieldChange, diff
from forms.errors import InvalidDefinition
from forms.expressions import ExpressionError, UnsupportedFunction, evaluate, parse
from forms.model import definition_hash, encode_definition, label_text

DEFN = {
    "key": "sidewalk_audit",
    "version": "1",
    "title": {"th": "สำรวจทางเท้า", "en": "Sidewalk audit"},
    "fields": [
        {"name": "shop_name", "type": "text", "label": {"th": "ชื่อร้าน"}},
        {"name": "surface", "type": "select_one", "choices": "surface"},
        {"name": "trees", "type": "repeat", "fields": [{"name": "girth_cm", "type": "integer"}]},
    ],
    "choices": {"surface": [{"value": "concrete"}]},
}


def test_decode_round_trip_and_stable_hash() -> None:
    defn = decode_definition(DEFN)
    assert decode_definition(encode_definition(defn)) == defn
    assert definition_hash(defn) == definition_hash(decode_definition(encode_definition(defn)))
    assert len(definition_hash(defn)) == 64


def test_decode_reports_every_unknown_key_and_wrong_type() -> None:
    bad = {
        **DEFN,
        "colour": "red",
        "fields": [{"name": "a", "type": "text", "lable": "x", "required": "yes"}],
    }
    with pytest.raises(InvalidDefinition) as err:
        decode_definition(bad)
    locs = {(tuple(p.loc), p.code) for p in err.value.problems}
    assert locs == {
        (("colour",), "unknown_field"),
        (("fields", 0, "lable"), "unknown_field"),
        (("fields", 0, "required"), "wrong_type"),
    }


def test_checks_find_structural_problems_and_warn_on_unsupported() -> None:
    bad = {
        **DEFN,
        "fields": [
            {"name": "1bad", "type": "text"},
            {"name": "x", "type": "select_one", "choices": "nope"},
            {"name": "x", "type": "text", "relevant": "${ghost} = 1"},
            {"name": "g", "type": "group"},
            {"name": "y", "type": "text", "constraint": "jr:choice-name(., 'a')"},
            {"name": "z", "type": "texte"},
        ],
    }
    with pytest.raises(InvalidDefinition) as err:
        decode_definition(bad)
    codes = {p.code for p in err.value.problems}
    assert codes == {
        "invalid_name",
        "unknown_choices",
        "duplicate_name",
        "unknown_reference",
        "empty_group",
        "unknown_type",
    }
    assert any("jr:choice-name" in w for w in err.value.warnings)


def test_renames_and_diff() -> None:
    old = decode_definition(DEFN)
    new_raw = {
        **DEFN,
        "version": "2",
        "fields": [
            {"name": "shop", "type": "text", "label": {"th": "ร้าน"}, "renamed_from": "shop_name"},
            {"name": "surface", "type": "select_one", "choices": "surface", "required": True},
            {"name": "width_m", "type": "decimal"},
        ],
        "choices": {"surface": [{"value": "concrete"}, {"value": "brick"}]},
    }
    new = decode_definition(new_raw)
    assert check_renames(new, [old]) == []
    assert [(p.loc, p.code) for p in check_renames(new, [])] == [(["shop", "renamed_from"], "unknown_rename")]
    d = diff(old, new)
    assert d.added == ["width_m"]
    assert d.removed == ["trees", "trees/girth_cm"]
    assert d.changed == [
        FieldChange(path="shop", what=["renamed", "label"]),
        FieldChange(path="surface", what=["choices", "required"]),
    ]
    assert check(new) == ([], [])


def test_label_text_falls_back() -> None:
    assert label_text({"th": "ร้าน", "en": "Shop"}, "en", "th") == "Shop"
    assert label_text({"th": "ร้าน"}, "en", "th") == "ร้าน"
    assert label_text("plain", "en", None) == "plain"


def test_expressions() -> None:
    ctx = {"obstacles": ["vendor", "other"], "age": "12", "name": "ป้าศรี"}
    assert evaluate(parse("selected(${obstacles}, 'other') and count-selected(${obstacles}) = 2"), ctx)
    assert evaluate(parse("${age} > 9"), ctx) is True  # number-like strings compare numerically
    assert evaluate(parse("${age} = 12"), ctx) is True
    assert evaluate(parse("${missing} = ''"), ctx) is True
    assert evaluate(parse("10 mod 3 + 7 div 2"), ctx) == 4.5
    assert evaluate(parse("concat(${name}, '-', string-length(${name}))"), ctx) == "ป้าศรี-6"
    assert evaluate(parse("if(not(${age} > 20), round(2.5), int(-2.7))"), ctx) == 3
    assert evaluate(parse("coalesce(${missing}, 'x')"), ctx) == "x"
    assert evaluate(parse("regex(., '^0[0-9]{9}$')"), ctx, current="0812345678") is True
    with pytest.raises(UnsupportedFunction):
        parse("pulldata('a', 'b', 'c', 'd')")
    for text in ["1 +", "(1", "${a", "'open", "x" * 2001, "(" * 60 + "1" + ")" * 60]:
        with pytest.raises(ExpressionError):
            parse(text)
