"""What an index may read from each form, and the check of the indicators against it.

`FormFields` is the form's merged schema (every version) reduced to what the index needs: each
field path's type and, for a select, its choice values. `form_fields` builds it from the exports'
`Schema`, so renamed fields and options removed later still resolve.
"""

import msgspec

from cityindex.settings import NUMBER_AGGREGATES, IndexSettings, Indicator
from exports.schema import Schema
from forms.errors import Problem

NUMERIC_TYPES = frozenset({"integer", "decimal", "range", "calculate"})
"""Types whose answers may be numbers; a calculate's non-numeric answers are skipped like any other."""


class FieldInfo(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    choices: list[str] | None = None
    """A select's choice values over every version; None when unknown (select_one_from_file)."""


class FormFields(msgspec.Struct, frozen=True, kw_only=True):
    fields: dict[str, FieldInfo]
    """Field path (`group/field`) → what it holds."""


def form_fields(schema: Schema) -> FormFields:
    """The fields of a form's merged export schema (`exports.layout.schema_of`)."""
    return FormFields(
        fields={
            path: FieldInfo(
                type=column.type,
                choices=list(column.options) if column.options is not None and _select(column.type) else None,
            )
            for path, column in schema.fields.items()
        }
    )


def _select(kind: str) -> bool:
    return kind.startswith("select_")


def check_against_forms(settings: IndexSettings, forms: dict[str, FormFields]) -> list[Problem]:
    """Every indicator that names a form, field or choice the project does not have."""
    problems: list[Problem] = []
    for i, ind in enumerate(settings.indicators):
        found = _check(ind, forms.get(ind.form))
        problems += [
            Problem(loc=["indicators", i, *loc], code=code, message=f"indicator {ind.key!r}: {message}")
            for loc, code, message in found
        ]
    return problems


def _check(ind: Indicator, form: FormFields | None) -> list[tuple[list[str | int], str, str]]:
    if form is None:
        return [(["form"], "unknown_form", f"the project has no form {ind.form!r}")]
    found: list[tuple[list[str | int], str, str]] = []
    if ind.field is not None and ind.aggregate in NUMBER_AGGREGATES:
        info = form.fields.get(ind.field)
        if info is None:
            found.append((["field"], "unknown_field", f"form {ind.form!r} has no field {ind.field!r}"))
        elif info.type not in NUMERIC_TYPES:
            message = f"{ind.aggregate} needs a number, and {ind.field!r} is a {info.type} field"
            found.append((["field"], "not_numeric", message))
    for path, wanted in (ind.where or {}).items():
        info = form.fields.get(path)
        if info is None:
            found.append((["where", path], "unknown_field", f"form {ind.form!r} has no field {path!r}"))
            continue
        if info.choices is None or not _select(info.type):
            continue
        for value in [wanted] if isinstance(wanted, str) else wanted:
            if value not in info.choices:
                shown = ", ".join(info.choices[:20]) + (", …" if len(info.choices) > 20 else "")
                found.append(
                    (["where", path], "unknown_choice", f"{value!r} is not a choice of {path!r} ({shown})")
                )
    return found
