"""What changed between two versions of a form, by field path (renames are changes, not add+remove)."""

import msgspec

from forms.checks import resolve_rename
from forms.model import Field, FormDefinition, iter_fields

ASPECTS = ("type", "label", "choices", "required", "constraint", "relevant", "hint", "sensitive")


class FieldChange(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    what: list[str]


class FormDiff(msgspec.Struct, frozen=True, kw_only=True):
    added: list[str]
    removed: list[str]
    changed: list[FieldChange]


def diff(old: FormDefinition, new: FormDefinition) -> FormDiff:
    old_fields = dict(iter_fields(old))
    new_fields = dict(iter_fields(new))
    renamed: dict[str, str] = {}  # new path -> old path
    for path, field in new_fields.items():
        if path not in old_fields and field.renamed_from:
            source = resolve_rename(path, field.renamed_from)
            if source in old_fields and source not in new_fields:
                renamed[path] = source
    sources = set(renamed.values())
    added = [p for p in new_fields if p not in old_fields and p not in renamed]
    removed = [p for p in old_fields if p not in new_fields and p not in sources]
    changed = []
    for path, field in new_fields.items():
        source = renamed.get(path, path)
        if source not in old_fields:
            continue
        what = ["renamed"] if path in renamed else []
        what += [a for a in ASPECTS if _aspect(old, old_fields[source], a) != _aspect(new, field, a)]
        if what:
            changed.append(FieldChange(path=path, what=what))
    return FormDiff(added=added, removed=removed, changed=changed)


def _aspect(defn: FormDefinition, field: Field, aspect: str) -> object:
    if aspect == "choices":  # the list's content, not its name, is what a user sees
        return (defn.choices.get(field.choices) if field.choices else None, field.or_other)
    return getattr(field, aspect)
