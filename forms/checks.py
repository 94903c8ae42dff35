"""Definition checks beyond types: names, structure, choice lists, expressions, dedup policy."""

import re
import unicodedata

from forms.choice_lists import FILE_EXTENSIONS, is_list_file
from forms.errors import Problem
from forms.expressions import ExpressionError, Unsupported, parse, references
from forms.model import (
    CONTAINER_TYPES,
    FIELD_TYPES,
    METADATA_KINDS,
    SELECT_TYPES,
    SURVIVORSHIP_RULES,
    Field,
    FormDefinition,
    iter_fields,
)

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
MAX_NAME_LENGTH = 255  # a sync item names its form and version in at most 255 characters
EXPRESSION_ATTRS = ("relevant", "constraint", "calculation")

Loc = list[str | int]


def check(defn: FormDefinition) -> tuple[list[Problem], list[str]]:
    """Every problem that makes the definition unusable, and warnings that do not block publishing."""
    problems: list[Problem] = []
    warnings: list[str] = []
    names = {field.name for _, field in iter_fields(defn)} | set(defn.metadata)
    problems += check_key(defn.key) + check_version(defn.version)
    if not defn.fields:
        problems.append(Problem(loc=["fields"], code="no_fields", message="a form needs at least one field"))
    _check_fields(defn, defn.fields, ["fields"], "", names, problems, warnings)
    problems += check_metadata(defn)
    for list_name, choices in defn.choices.items():
        seen: set[str] = set()
        for i, choice in enumerate(choices):
            if choice.value in seen:
                problems.append(
                    Problem(
                        loc=["choices", list_name, i, "value"],
                        code="duplicate_choice",
                        message=f"choice value {choice.value!r} appears twice in list {list_name!r}",
                    )
                )
            seen.add(choice.value)
    if defn.dedup is not None:
        problems += check_policy(defn)
    return problems, warnings


def check_metadata(defn: FormDefinition) -> list[Problem]:
    """Metadata are answer keys beside the top-level fields: a name, a known kind, no field's name."""
    problems: list[Problem] = []
    fields = {field.name for field in defn.fields}
    for name, kind in defn.metadata.items():
        loc: Loc = ["metadata", name]
        if not NAME.fullmatch(name):
            message = f"metadata {name!r}: names start with a letter or _, then letters, digits, _ - ."
            problems.append(Problem(loc=loc, code="invalid_name", message=message))
        elif name in fields:
            message = f"metadata {name!r} has the name of a field"
            problems.append(Problem(loc=loc, code="duplicate_name", message=message))
        if kind not in METADATA_KINDS:
            message = f"metadata {name!r}: unknown kind {kind!r} (one of {', '.join(METADATA_KINDS)})"
            problems.append(Problem(loc=loc, code="unknown_metadata", message=message))
    return problems


def check_key(key: str) -> list[Problem]:
    """A form key: a name (letters, digits, `_ - .`) a sync item can name, so at most 255 characters."""
    if not NAME.fullmatch(key):
        return [Problem(loc=["key"], code="invalid_name", message=f"form key {key!r} is not a valid name")]
    if len(key) > MAX_NAME_LENGTH:
        return [_too_long("key", "form key", key)]
    return []


def check_version(version: str) -> list[Problem]:
    """A version string: it is a URL path segment (`.../versions/{version}/publish`) and a sync item
    names it, so 1 to 255 characters, no `/`, no control characters, no space at either end."""
    if not version.strip():
        return [Problem(loc=["version"], code="empty", message="version must not be empty")]
    if len(version) > MAX_NAME_LENGTH:
        return [_too_long("version", "version", version)]
    message = None
    if "/" in version or version in (".", ".."):
        message = f"version {version!r} cannot be a URL path segment: no '/', and not '.' or '..'"
    elif any(unicodedata.category(c) == "Cc" for c in version):
        message = f"version {version!r} contains a control character"
    elif version != version.strip():
        message = f"version {version!r} starts or ends with a space"
    return [Problem(loc=["version"], code="invalid_version", message=message)] if message else []


def _too_long(loc: str, what: str, value: str) -> Problem:
    return Problem(
        loc=[loc],
        code="too_long",
        message=f"{what} is {len(value)} characters long; at most {MAX_NAME_LENGTH}",
    )


def _check_fields(
    defn: FormDefinition,
    fields: list[Field],
    loc: Loc,
    prefix: str,
    names: set[str],
    problems: list[Problem],
    warnings: list[str],
) -> None:
    seen: set[str] = set()
    for i, field in enumerate(fields):
        here: Loc = [*loc, i]
        path = prefix + field.name
        if not NAME.fullmatch(field.name):
            problems.append(
                Problem(
                    loc=[*here, "name"],
                    code="invalid_name",
                    message=f"{field.name!r}: names start with a letter or _, then letters, digits, _ - .",
                )
            )
        elif field.name in seen:
            problems.append(
                Problem(loc=[*here, "name"], code="duplicate_name", message=f"{path!r} is defined twice")
            )
        seen.add(field.name)
        if field.type not in FIELD_TYPES:
            problems.append(
                Problem(
                    loc=[*here, "type"],
                    code="unknown_type",
                    message=f"{path}: unknown type {field.type!r} (one of {', '.join(sorted(FIELD_TYPES))})",
                )
            )
        if field.type in SELECT_TYPES:
            if not field.choices:
                problems.append(
                    Problem(
                        loc=[*here, "choices"],
                        code="missing_choices",
                        message=f"{path}: a select needs a choices list",
                    )
                )
            elif field.choices not in defn.choices and is_list_file(field.choices):
                if not field.choices.lower().endswith(FILE_EXTENSIONS):
                    problems.append(
                        Problem(
                            loc=[*here, "choices"],
                            code="unsupported_list_file",
                            message=f"{path}: the server reads lists from {' or '.join(FILE_EXTENSIONS)} "
                            f"files, not {field.choices!r}",
                        )
                    )
            elif field.choices not in defn.choices:
                problems.append(
                    Problem(
                        loc=[*here, "choices"],
                        code="unknown_choices",
                        message=f"{path}: choice list {field.choices!r} is not defined",
                    )
                )
        if field.type in CONTAINER_TYPES:
            if not field.fields:
                problems.append(
                    Problem(
                        loc=[*here, "fields"],
                        code="empty_group",
                        message=f"{path}: a {field.type} needs fields",
                    )
                )
            else:
                _check_fields(defn, field.fields, [*here, "fields"], path + "/", names, problems, warnings)
        elif field.fields is not None:
            problems.append(
                Problem(
                    loc=[*here, "fields"],
                    code="unexpected_fields",
                    message=f"{path}: only group and repeat fields contain fields",
                )
            )
        for attr in EXPRESSION_ATTRS:
            text = getattr(field, attr)
            if text:
                check_expression(text, [*here, attr], f"{path} {attr}", names, problems, warnings)


def check_expression(
    text: str, loc: Loc, what: str, names: set[str], problems: list[Problem], warnings: list[str]
) -> None:
    """A rule must parse and name existing fields; one the server cannot evaluate is only a warning."""
    try:
        expr = parse(text)
    except Unsupported as exc:
        warnings.append(f"{what}: {exc.what} is not evaluated by the server; the tablet enforces this rule")
        return
    except ExpressionError as exc:
        problems.append(Problem(loc=loc, code="bad_expression", message=f"{what}: {exc}"))
        return
    for name in sorted(references(expr) - names):
        problems.append(
            Problem(
                loc=loc, code="unknown_reference", message=f"{what}: ${{{name}}} names no field in the form"
            )
        )


def check_policy(defn: FormDefinition) -> list[Problem]:
    """The definition's `dedup` block against its fields: paths, rules, score bars, radius and window."""
    policy = defn.dedup
    assert policy is not None
    paths = {path: field.type for path, field in iter_fields(defn)}
    problems: list[Problem] = []
    if policy.location_field is not None and paths.get(policy.location_field) != "geopoint":
        problems.append(
            Problem(
                loc=["dedup", "location_field"],
                code="not_a_geopoint",
                message=f"dedup location_field {policy.location_field!r} is not a geopoint field",
            )
        )
    for i, path in enumerate(policy.match_fields):
        if path not in paths:
            problems.append(
                Problem(loc=["dedup", "match_fields", i], code="unknown_field", message=f"no field {path!r}")
            )
    for path, rule in policy.survivorship.items():
        if path not in paths:
            problems.append(
                Problem(
                    loc=["dedup", "survivorship", path], code="unknown_field", message=f"no field {path!r}"
                )
            )
        if rule not in SURVIVORSHIP_RULES:
            problems.append(
                Problem(
                    loc=["dedup", "survivorship", path],
                    code="unknown_rule",
                    message=f"rule {rule!r} is not one of {', '.join(sorted(SURVIVORSHIP_RULES))}",
                )
            )
    if not 0 <= policy.review_score <= policy.auto_merge_score <= 1:
        problems.append(
            Problem(
                loc=["dedup", "review_score"],
                code="bad_scores",
                message="scores must satisfy 0 <= review_score <= auto_merge_score <= 1",
            )
        )
    problems += _bounded(["dedup", "radius_m"], policy.radius_m, *RADIUS_M, "metres")
    if policy.time_window_h is not None:
        problems += _bounded(["dedup", "time_window_h"], policy.time_window_h, *WINDOW_H, "hours")
    if len(policy.match_fields) > MAX_MATCH_FIELDS:
        message = f"at most {MAX_MATCH_FIELDS} match_fields are compared"
        problems.append(Problem(loc=["dedup", "match_fields"], code="too_many", message=message))
    return problems


# The duplicate policy's ranges: a radius past a kilometre compares a whole district with every
# submission (a 10 km radius made intake 150 ms per item); a window past a year is no window.
RADIUS_M = (0.0, 1000.0)
WINDOW_H = (0.0, 24.0 * 366)
MAX_MATCH_FIELDS = 20


def _bounded(loc: list[str | int], value: float, low: float, high: float, unit: str) -> list[Problem]:
    """`value` in (low, high]; NaN and infinities are outside every range."""
    if low < value <= high:
        return []
    name = loc[-1]
    message = f"{name} must be greater than {low:g} and at most {high:g} {unit}, not {value!r}"
    return [Problem(loc=loc, code="out_of_range", message=message)]


def resolve_rename(path: str, renamed_from: str) -> str:
    """A bare old name is a sibling of the field; a name with '/' is a full path."""
    if "/" in renamed_from:
        return renamed_from
    parent = path.rpartition("/")[0]
    return f"{parent}/{renamed_from}" if parent else renamed_from


def check_renames(defn: FormDefinition, previous: list[FormDefinition]) -> list[Problem]:
    """`renamed_from` must point at a field path some earlier version had."""
    earlier = {path for old in previous for path, _ in iter_fields(old)}
    problems = []
    for path, field in iter_fields(defn):
        if field.renamed_from and resolve_rename(path, field.renamed_from) not in earlier:
            problems.append(
                Problem(
                    loc=[*path.split("/"), "renamed_from"],
                    code="unknown_rename",
                    message=f"{path}: renamed_from {field.renamed_from!r} is no field of an older version",
                )
            )
    return problems
