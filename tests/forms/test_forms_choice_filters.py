"""choice_filter and required_message as the validator uses them (issue 15)."""

from forms.model import Choice, Field, FormDefinition
from forms.validate import compile_validator
from forms.xlsform import load_xlsform
from tests.workbooks import build_xlsx

SURVEY = [
    ["type", "name", "label", "choice_filter", "required", "required_message"],
    ["select_one province", "province", "Province", None, "yes", "Pick the province first"],
    ["select_one district", "district", "District", "province = ${province}", None, None],
]
CHOICES = [
    ["list_name", "name", "label", "province"],
    ["province", "korat", "Nakhon Ratchasima", None],
    ["province", "bkk", "Bangkok", None],
    ["district", "pak_chong", "Pak Chong", "korat"],
    ["district", "bang_rak", "Bang Rak", "bkk"],
]


def cascading() -> FormDefinition:
    defn, _ = load_xlsform(build_xlsx(SURVEY, CHOICES, [["form_id", "version"], ["walk", "1"]]))
    return defn


def test_the_definition_keeps_the_filter_and_the_columns_it_reads() -> None:
    defn = cascading()
    assert defn.fields[1].choice_filter == "province = ${province}"
    assert defn.choices["district"][0] == Choice(
        value="pak_chong", label="Pak Chong", columns={"province": "korat"}
    )


def test_an_answer_the_filter_did_not_offer_is_not_in_choices() -> None:
    validator = compile_validator(cascading())
    assert validator.validate({"province": "korat", "district": "pak_chong"}).issues == []
    issues = validator.validate({"province": "korat", "district": "bang_rak"}).issues
    assert [(p.loc, p.code) for p in issues] == [(["district"], "not_in_choices")]


def test_a_filter_the_server_cannot_evaluate_is_skipped_never_a_problem() -> None:
    validator = compile_validator(cascading())
    assert [p.code for p in validator.validate({"district": "bang_rak"}).issues] == [
        "required"
    ]  # no province
    fields = [
        Field(name="province", type="text"),
        Field(name="district", type="select_one", choices="d", choice_filter="pulldata('x', ${province})"),
        Field(name="ward", type="select_one", choices="d", choice_filter="no_such_column = ${province}"),
    ]
    defn = FormDefinition(
        key="f", version="1", title="F", fields=fields, choices={"d": [Choice(value="a", columns={"p": "x"})]}
    )
    assert compile_validator(defn).validate({"province": "y", "district": "a", "ward": "a"}).issues == []


def test_required_message_is_the_message_of_a_required_issue() -> None:
    issues = compile_validator(cascading()).validate({}).issues
    assert [(p.loc, p.code, p.message) for p in issues] == [
        (["province"], "required", "Pick the province first")
    ]
