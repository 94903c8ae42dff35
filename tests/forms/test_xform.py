"""A definition's XForm: its XLSForm sheets, and what pyxform makes of them (or of the uploaded workbook)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import msgspec
import pytest

from forms.decoding import decode_definition
from forms.model import FIELD_TYPES, METADATA_KINDS, FormDefinition
from forms.xform import XFormError, compile_xform
from forms.xform_sheets import language_name, xlsform_sheets
from forms.xlsform import load_xlsform
from tests.workbooks import build_xls, build_xlsx

NS = {
    "h": "http://www.w3.org/1999/xhtml",
    "x": "http://www.w3.org/2002/xforms",
    "jr": "http://openrosa.org/javarosa",
}
SIDEWALK: dict[str, Any] = {
    "key": "sidewalk_audit",
    "version": "2026-11-20",
    "title": {"th": "สำรวจทางเท้า", "en": "Sidewalk audit"},
    "default_language": "th",
    "fields": [
        {
            "name": "location",
            "type": "geopoint",
            "required": True,
            "label": {"th": "ตำแหน่ง", "en": "Location"},
        },
        {
            "name": "surface",
            "type": "select_one",
            "choices": "surface",
            "label": {"th": "ผิวทาง", "en": "Surface"},
        },
        {"name": "width_m", "type": "decimal", "constraint": ". >= 0 and . <= 20", "label": "Width (m)"},
        {"name": "owner_phone", "type": "text", "sensitive": True, "renamed_from": "phone"},
        {
            "name": "shop",
            "type": "group",
            "relevant": "${surface} = 'concrete'",
            "fields": [{"name": "state", "type": "select_one", "choices": "state"}],
        },
        {
            "name": "stalls",
            "type": "repeat",
            "repeat_count": "${width_m}",
            "fields": [
                {
                    "name": "county",
                    "type": "select_one",
                    "choices": "county",
                    "choice_filter": "state = ${state}",
                }
            ],
        },
    ],
    "choices": {
        "surface": [
            {"value": "concrete", "label": {"th": "คอนกรีต", "en": "Concrete"}},
            {"value": "brick", "label": {"en": "Brick"}},
        ],
        "state": [{"value": "ca"}, {"value": "wa"}],
        "county": [
            {"value": "king", "columns": {"state": "wa"}},
            {"value": "marin", "columns": {"state": "ca"}},
        ],
    },
    "metadata": {"start": "start", "device": "deviceid"},
}


def xform(defn: FormDefinition, *workbook: Any) -> ElementTree.Element:
    return ElementTree.fromstring(compile_xform(defn, *workbook))


def binds(root: ElementTree.Element) -> dict[str, dict[str, str]]:
    return {b.get("nodeset", ""): dict(b.attrib) for b in root.iterfind(".//x:bind", NS)}


def test_languages_become_xlsform_columns_and_itext_translations() -> None:
    sheets = xlsform_sheets(decode_definition(SIDEWALK))
    location = next(row for row in sheets["survey"] if row["name"] == "location")
    assert location["label::Thai (th)"] == "ตำแหน่ง" and location["label::English (en)"] == "Location"
    assert sheets["settings"] == [
        {
            "form_id": "sidewalk_audit",
            "version": "2026-11-20",
            "form_title": "สำรวจทางเท้า",
            "default_language": "Thai (th)",
        }
    ]
    root = xform(decode_definition(SIDEWALK))
    translations = {t.get("lang"): t for t in root.iterfind(".//x:itext/x:translation", NS)}
    assert (
        list(translations) == ["Thai (th)", "English (en)"]
        and translations["Thai (th)"].get("default") == "true()"
    )
    texts = {
        lang: {t.get("id"): t.findtext("x:value", namespaces=NS) for t in tr.iterfind("x:text", NS)}
        for lang, tr in translations.items()
    }
    assert texts["Thai (th)"]["/data/location:label"] == "ตำแหน่ง"
    assert texts["English (en)"]["/data/location:label"] == "Location"
    assert texts["Thai (th)"]["surface-1"] == "Brick"  # no Thai given: the English, not pyxform's "-"
    assert (
        texts["Thai (th)"]["/data/width_m:label"]
        == texts["English (en)"]["/data/width_m:label"]
        == "Width (m)"
    )
    assert root.findtext("h:head/h:title", namespaces=NS) == "สำรวจทางเท้า"


def test_the_instance_names_the_servers_key_and_version_and_has_an_instance_id() -> None:
    root = xform(decode_definition(SIDEWALK))
    [data] = root.iterfind(".//x:model/x:instance/x:data", NS)
    assert (data.get("id"), data.get("version")) == ("sidewalk_audit", "2026-11-20")
    assert data.find("x:meta/x:instanceID", NS) is not None
    assert [child.tag.split("}")[1] for child in data][:2] == ["start", "device"]  # metadata first
    assert binds(root)["/data/device"]["{http://openrosa.org/javarosa}preloadParams"] == "deviceid"


def test_rules_groups_repeats_and_choice_filters_reach_the_xform() -> None:
    root = xform(decode_definition(SIDEWALK))
    found = binds(root)
    assert found["/data/location"]["required"] == "true()"
    assert found["/data/width_m"]["constraint"] == ". >= 0 and . <= 20"
    assert found["/data/shop"]["relevant"] == " /data/surface  = 'concrete'"
    assert root.find(".//h:body/x:group[@ref='/data/shop']", NS) is not None
    repeat = root.find(".//h:body/x:group/x:repeat[@nodeset='/data/stalls']", NS)
    assert repeat is not None and repeat.get("{http://openrosa.org/javarosa}count") == " /data/width_m "
    itemset = root.find(".//x:select1[@ref='/data/stalls/county']/x:itemset", NS)
    assert (
        itemset is not None
        and itemset.get("nodeset") == "instance('county')/root/item[state =  /data/shop/state ]"
    )


def test_what_only_the_server_needs_stays_out_of_the_xform() -> None:
    defn = decode_definition(SIDEWALK)
    phone = next(row for row in xlsform_sheets(defn)["survey"] if row["name"] == "owner_phone")
    assert phone == {
        "type": "text",
        "name": "owner_phone",
        "label::Thai (th)": "owner_phone",
        "label::English (en)": "owner_phone",
    }
    text = compile_xform(defn)
    assert b"sensitive" not in text and b"renamed_from" not in text and b"<phone" not in text


def one_of_each(kind: str) -> dict[str, Any]:
    field: dict[str, Any] = {"name": "f_" + kind.replace("-", "_"), "type": kind}
    if kind in ("select_one", "select_multiple", "rank"):
        field["choices"] = "yn"
    if kind == "calculate":
        field["calculation"] = "1 + 1"
    if kind in ("group", "repeat"):
        field["fields"] = [{"name": f"in_{kind}", "type": "text"}]
    return field


MORE = [
    {"name": "other", "type": "select_one", "choices": "yn", "or_other": True, "media": {"image": "a.png"}},
    {"name": "stars", "type": "integer", "parameters": {"start": "1", "end": "5", "step": "1"}},
    {"name": "fixed", "type": "text", "readonly": True, "default": "x", "hint": "h", "guidance_hint": "g"},
    {"name": "shops", "type": "select_one", "choices": "shops.csv"},
]
EVERY_TYPE = {  # at module level, so the conformance test's corpus reads it too
    "key": "all",
    "version": "1",
    "title": "All",
    "fields": [one_of_each(kind) for kind in sorted(FIELD_TYPES)] + MORE,
    "choices": {"yn": [{"value": "yes"}, {"value": "no"}]},
    "metadata": {kind: kind for kind in METADATA_KINDS},
}


def test_every_field_type_and_metadata_kind_compiles() -> None:
    root = xform(decode_definition(EVERY_TYPE))
    body = root.find("h:body", NS)
    assert body is not None
    tags = {node.get("ref"): node.tag.split("}")[1] for node in body.iter() if node.get("ref")}
    assert (
        tags["/data/f_rank"] == "rank"
        and tags["/data/f_photo"] == "upload"
        and tags["/data/stars"] == "range"
    )
    assert tags["/data/f_trigger"] == tags["/data/f_acknowledge"] == "trigger"
    assert "/data/other_other" in tags  # `select_one yn or_other` asks for the other answer
    assert root.find(".//x:instance[@src='jr://file-csv/shops.csv']", NS) is not None
    assert root.find(".//x:meta/x:audit", NS) is not None


def test_an_uploaded_xlsform_is_compiled_from_its_workbook_under_the_servers_key() -> None:
    survey = [
        ["type", "name", "label", "hint", "sensitive"],
        ["text", "shop_name", "Shop", "as on its sign", "yes"],
    ]
    data = build_xlsx(survey, None, [["form_id", "version", "form_title"], ["their_id", "7", "Shops"]])
    defn, _ = load_xlsform(data, "shops.xlsx")
    served = msgspec.structs.replace(defn, key="shops", version="2026-11-20")
    root = xform(served, data, "xlsx")
    [instance] = root.iterfind(".//x:model/x:instance/x:data", NS)
    assert (instance.get("id"), instance.get("version")) == ("shops", "2026-11-20")
    assert root.findtext(".//x:input/x:hint", namespaces=NS) == "as on its sign"
    assert root.findtext("h:head/h:title", namespaces=NS) == "Shops"


def test_an_xls_upload_without_settings_gets_the_servers_key_and_version() -> None:
    data = build_xls([["type", "name", "label"], ["integer", "stalls", "Stalls"]])
    defn, _ = load_xlsform(data, "market.xls")
    root = xform(defn, data, "application/vnd.ms-excel")
    [instance] = root.iterfind(".//x:model/x:instance/x:data", NS)
    assert (instance.get("id"), instance.get("version")) == ("market", defn.version)


def test_pyxform_refusals_name_the_field_of_a_json_form() -> None:
    form = {
        "key": "k",
        "version": "1",
        "title": "T",
        "fields": [{"name": "a", "type": "note", "label": "Hi ${nobody}"}],
    }
    with pytest.raises(XFormError, match=r"field 'a': .*'nobody'"):
        compile_xform(decode_definition(form))


def test_a_group_with_nothing_to_show_gets_no_xform() -> None:
    only_hidden = [
        {"name": "g", "type": "group", "fields": [{"name": "c", "type": "calculate", "calculation": "1"}]}
    ]
    form = {"key": "k", "version": "1", "title": "T", "fields": [{"name": "q", "type": "text"}, *only_hidden]}
    with pytest.raises(XFormError, match="the group 'g' has no question"):
        compile_xform(decode_definition(form))


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("th", "Thai (th)"),
        ("en", "English (en)"),
        ("my", "Burmese (my)"),
        ("zh-Hant", "Chinese (zh-Hant)"),
        ("xx", "xx (xx)"),
        ("Thai", "Thai"),
    ],
)
def test_language_names(code: str, name: str) -> None:
    assert language_name(code) == name
