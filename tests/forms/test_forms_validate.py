import msgspec

from forms.model import Choice, DedupPolicy, Field, FormDefinition
from forms.validate import compile_validator, validator_for

FORM = FormDefinition(
    key="sidewalk_audit",
    version="1",
    title={"th": "สำรวจทางเท้า", "en": "Sidewalk audit"},
    fields=[
        Field(name="location", type="geopoint", required=True),
        Field(name="shop_name", type="text"),
        Field(name="surface", type="select_one", choices="surface"),
        Field(name="width_m", type="decimal", constraint=". >= 0 and . <= 20", constraint_message="0–20 m"),
        Field(name="obstacles", type="select_multiple", choices="obstacle"),
        Field(name="other_obstacle", type="text", required=True, relevant="selected(${obstacles}, 'other')"),
        Field(name="owner_phone", type="text", sensitive=True),
        Field(name="visited", type="date"),
        Field(name="started", type="datetime"),
        Field(name="path", type="geotrace"),
        Field(name="n", type="note"),
        Field(
            name="trees",
            type="repeat",
            fields=[
                Field(name="species", type="text"),
                Field(name="girth_cm", type="integer", constraint=". > 0"),
            ],
        ),
    ],
    choices={
        "surface": [Choice(value="concrete")],
        "obstacle": [Choice(value="vendor"), Choice(value="other")],
    },
)


def codes(problems: list) -> set[tuple[tuple, str]]:
    return {(tuple(p.loc), p.code) for p in problems}


def test_typed_answers_from_odk_strings_and_thai_digits() -> None:
    result = compile_validator(FORM).validate(
        {
            "location": "14.9730 102.0836 182 4",
            "width_m": "๑.๕",
            "obstacles": "vendor other",
            "other_obstacle": "motorbike",
            "visited": "2026-11-20",
            "started": "2026-11-20T09:12:00+07:00",
            "path": "14.97 102.08 0 5;14.98 102.09 0 5",
            "trees": [{"species": "ต้นหูกวาง", "girth_cm": "๑๒"}],
        }
    )
    assert result.errors == [] and result.issues == []
    assert result.answers["location"] == {"lat": 14.973, "lon": 102.0836, "alt": 182.0, "accuracy": 4.0}
    assert result.answers["width_m"] == 1.5
    assert result.answers["obstacles"] == ["vendor", "other"]
    assert result.answers["trees"] == [{"species": "ต้นหูกวาง", "girth_cm": 12}]
    assert len(result.answers["path"]) == 2


def test_hard_errors() -> None:
    result = compile_validator(FORM).validate(
        {
            "location": {"lat": 102.1, "lon": 14.97},
            "width_m": "NaN",
            "visited": "20/11/2026",
            "trees": [{"girth_cm": True}],
        }
    )
    assert located(result.errors) == [
        (("location",), "coordinates_swapped"),
        (("width_m",), "not_a_number"),  # the text "NaN" is no number, not an infinite one
        (("visited",), "not_a_date"),
        (("trees", 0, "girth_cm"), "not_a_number"),
    ]
    assert "swapped" in result.errors[0].message
    assert "location" not in result.answers
    bad = compile_validator(FORM).validate({"location": {"lat": 95, "lon": 200}})
    assert codes(bad.errors) == {(("location",), "coordinates_out_of_range")}
    inf = compile_validator(FORM).validate({"location": {"lat": float("inf"), "lon": 1}})
    assert codes(inf.errors) == {(("location",), "coordinates_not_finite")}


def test_soft_issues() -> None:
    result = compile_validator(FORM).validate(
        {
            "location": {"lat": 14.97, "lon": 102.1, "accuracy": 0},
            "surface": "gravel",
            "width_m": 25,
            "obstacles": ["other"],
            "visited": "2569-11-20",
            "trees": [{"girth_cm": 0}],
            "mystery": 1,
        }
    )
    found = codes(result.issues)
    assert (("location",), "zero_accuracy") in found
    assert (("surface",), "not_in_choices") in found
    assert (("width_m",), "constraint") in found
    assert (("other_obstacle",), "required") in found
    assert (("visited",), "buddhist_era_year") in found
    assert (("trees", 0, "girth_cm"), "constraint") in found
    assert (("mystery",), "unknown_field") in found and "mystery" not in result.answers
    assert result.answers["visited"] == "2569-11-20"  # never shifted silently
    assert any("2026 CE" in p.message for p in result.issues)
    assert (
        next(p.message for p in result.issues if p.code == "constraint" and p.loc == ["width_m"]) == "0–20 m"
    )
    assert result.errors == []


def test_required_only_where_relevant_and_low_accuracy() -> None:
    result = compile_validator(FORM).validate({"location": "14.97 102.1 0 250", "obstacles": ["vendor"]})
    assert codes(result.issues) == {(("location",), "low_accuracy")}
    missing = compile_validator(FORM).validate({})
    assert codes(missing.issues) == {(("location",), "required")}


def test_naive_datetime_gets_the_project_zone_and_a_flag() -> None:
    result = compile_validator(FORM).validate({"location": "14 100", "started": "2026-11-20T09:12:00"})
    assert result.answers["started"] == "2026-11-20T09:12:00+07:00"
    assert codes(result.issues) == {(("started",), "no_offset")}


def test_location_and_sensitive_paths_and_cache() -> None:
    validator = validator_for(FORM)
    assert validator is validator_for(FORM)
    assert validator.location_path == "location"
    assert validator.sensitive_paths == {"owner_phone"}
    with_policy = FormDefinition(
        key="f",
        version="1",
        title="t",
        fields=[Field(name="a", type="geopoint"), Field(name="b", type="geopoint")],
        dedup=DedupPolicy(location_field="b"),
    )
    assert compile_validator(with_policy).location_path == "b"


def located(problems: list) -> list[tuple[tuple, str]]:
    return [(tuple(p.loc), p.code) for p in problems]


def test_typed_values_are_stored_as_given_and_still_judged() -> None:
    result = compile_validator(FORM).validate(
        {
            "location": "14 100",
            "shop_name": "ร้านป้าศรี",
            "surface": "concrete",
            "owner_phone": "",
            "trees": [{"species": "ต้นหูกวาง", "girth_cm": 0}, {"girth_cm": 12}],
        }
    )
    assert result.answers["shop_name"] == "ร้านป้าศรี" and result.answers["surface"] == "concrete"
    assert "owner_phone" not in result.answers  # an empty string is a missing answer
    assert result.answers["trees"] == [{"species": "ต้นหูกวาง", "girth_cm": 0}, {"girth_cm": 12}]
    assert located(result.issues) == [(("trees", 0, "girth_cm"), "constraint")]
    loose = compile_validator(FORM).validate({"location": "14 100", "shop_name": 5, "surface": " concrete "})
    assert loose.answers["shop_name"] == "5" and loose.answers["surface"] == "concrete"
    assert loose.issues == []
    number = compile_validator(FORM).validate({"location": "14 100", "surface": 3})
    assert number.answers["surface"] == "3"
    assert located(number.issues) == [(("surface",), "not_in_choices")]


def test_issues_and_answers_keep_form_order() -> None:
    result = compile_validator(FORM).validate(
        {
            "location": "14.97 102.1 0 0",
            "width_m": 30,
            "obstacles": "other vendor gravel",
            "trees": [{"girth_cm": 0, "x": 1}, 7, {"girth_cm": "12"}],
            "zz": 1,
            "meta": {"instanceID": "uuid:1"},
        }
    )
    assert list(result.answers) == ["location", "width_m", "obstacles", "trees"]
    assert located(result.issues) == [
        (("location",), "zero_accuracy"),
        (("obstacles",), "not_in_choices"),
        (("zz",), "unknown_field"),
        (("width_m",), "constraint"),
        (("other_obstacle",), "required"),
        (("trees", 0, "x"), "unknown_field"),
        (("trees", 0, "girth_cm"), "constraint"),
    ]
    assert located(result.errors) == [(("trees", 1), "wrong_type")]


SHOPS = FormDefinition(
    key="shops",
    version="1",
    title="Shops",
    fields=[
        Field(name="open", type="select_one", choices="yn", required=True),
        Field(
            name="shop",
            type="group",
            relevant="${open} = 'yes'",
            fields=[
                Field(name="name", type="text", required=True),
                Field(name="staff", type="integer", constraint=". >= 1 and . <= 50"),
                Field(name="hours", type="group", fields=[Field(name="opens", type="time", required=True)]),
            ],
        ),
        Field(
            name="visits",
            type="repeat",
            fields=[Field(name="day", type="date", required=True), Field(name="n", type="integer")],
        ),
    ],
    choices={"yn": [Choice(value="yes"), Choice(value="no")]},
)


def test_a_group_gates_its_children_and_nests_their_answers() -> None:
    validator = compile_validator(SHOPS)
    closed = validator.validate({"open": "no", "shop": {"staff": 99}})
    assert closed.answers == {"open": "no", "shop": {"staff": 99}} and closed.issues == []
    opened = validator.validate(
        {"open": "yes", "shop": {"staff": 99, "hours": {}, "owner": "x"}, "visits": [{"n": 1}]}
    )
    assert opened.answers == {"open": "yes", "shop": {"staff": 99}, "visits": [{"n": 1}]}
    assert located(opened.issues) == [
        (("shop", "owner"), "unknown_field"),
        (("shop", "name"), "required"),
        (("shop", "staff"), "constraint"),
        (("shop", "hours", "opens"), "required"),
        (("visits", 0, "day"), "required"),
    ]
    wrong = validator.validate({"open": "yes", "shop": "closed", "visits": {"n": 1}})
    assert located(wrong.errors) == [(("shop",), "wrong_type"), (("visits",), "wrong_type")]
    assert located(wrong.issues) == [(("shop", "name"), "required"), (("shop", "hours", "opens"), "required")]


def test_a_repeat_inside_a_group_stays_inside_its_group():
    defn = msgspec.convert(
        {
            "key": "k",
            "version": "1",
            "title": "t",
            "fields": [
                {
                    "name": "visit",
                    "type": "group",
                    "fields": [
                        {"name": "staff", "type": "repeat", "fields": [{"name": "who", "type": "text"}]}
                    ],
                }
            ],
        },
        FormDefinition,
    )
    result = compile_validator(defn).validate({"visit": {"staff": [{"who": "A"}, {"who": "B"}]}})
    assert result.errors == []
    assert result.answers == {"visit": {"staff": [{"who": "A"}, {"who": "B"}]}}
