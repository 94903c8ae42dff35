"""A validator compiled once per form version: raw answers in, typed answers plus issues and errors out.

Errors are hard (the value cannot be stored as its type); issues are soft (the record is kept and
carries them). Unknown answer keys become an `unknown_field` issue and are dropped from the answers.
Submission metadata (`start`, `deviceid`, ...) are taken out of the answers into `metadata`, by kind.
"""

from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from forms.answer_nodes import Node
from forms.choice_filters import compile_filter
from forms.errors import Problem
from forms.expressions import Compiled
from forms.functions import boolean
from forms.model import Field, FormDefinition, definition_hash, iter_fields
from forms.submission_metadata import MetadataReader
from forms.values import BadValue, coercers

IGNORED_KEYS = frozenset({"meta"})  # ODK's instanceID block; the uuid travels outside the answers


class Validated(msgspec.Struct, frozen=True, kw_only=True):
    answers: dict[str, Any]
    issues: list[Problem]
    errors: list[Problem]
    metadata: dict[str, Any] = {}
    """Submission metadata by kind (`start`, `deviceid`, ...): start and end in UTC, today a date."""


# What is left to judge once a scope is filled: (node, its value, the loc of its container).
_Rules = list[tuple[Node, Any, list[str | int]]]
_Repeats = list[tuple[Node, list[Any], list[str | int], dict[str, Any]]]
"""A repeat's node, its entries, their loc, and the answers (the form's, or its group's) it belongs in."""


class Validator:
    def __init__(self, defn: FormDefinition, timezone: str = "Asia/Bangkok") -> None:
        self._coercers = coercers(ZoneInfo(timezone))
        self._defn = defn
        self.metadata = MetadataReader(defn.metadata, self._coercers["datetime"])
        self.nodes = self._build(defn.fields, None)
        self.names = frozenset(n.name for n in self.nodes)
        paths = dict(iter_fields(defn))
        self.sensitive_paths: frozenset[str] = frozenset(p for p, f in paths.items() if f.sensitive)
        self.field_types: dict[str, str] = {p: f.type for p, f in paths.items()}
        policy = defn.dedup.location_field if defn.dedup else None
        first_point = next((p for p, f in paths.items() if f.type == "geopoint"), None)
        self.location_path: str | None = policy or first_point

    def _build(self, fields: list[Field], parent: Node | None) -> list["Node"]:
        nodes = []
        names = {f.name for f in fields}
        for field in fields:
            if field.type == "note":
                continue
            node = Node(field, self._coercers.get(field.type), parent)
            if field.choices and not field.or_other and field.choices in self._defn.choices:
                node.choices = frozenset(c.value for c in self._defn.choices[field.choices])
                node.filter = compile_filter(field.choice_filter, self._defn.choices[field.choices])
                node.judged = node.judged or node.filter is not None
                if field.type == "select_one" and all(c == c.strip() for c in node.choices):
                    node.native = str  # a listed choice is already stripped, so it is stored as given
            if field.fields:
                node.children = self._build(field.fields, node if node.is_group else None)
                node.names = frozenset(c.name for c in node.children)
            nodes.append(node)
            if field.or_other and f"{field.name}_other" not in names:  # the free text ODK sends with it
                other = Field(name=f"{field.name}_other", type="text")
                nodes.append(Node(other, self._coercers["text"], parent))
        return nodes

    def validate(self, raw: dict[str, Any]) -> Validated:
        answers: dict[str, Any] = {}
        issues: list[Problem] = []
        errors: list[Problem] = []
        if not isinstance(raw, dict):
            errors.append(Problem(loc=[], code="wrong_type", message="answers must be an object"))
            return Validated(answers=answers, issues=issues, errors=errors)
        metadata: dict[str, Any] = {}
        env: dict[str, Any] = {}
        if self.metadata.kinds:
            raw, metadata, env = self.metadata.take(raw, issues)
        self._scope(self.nodes, self.names, raw, answers, env, [], issues, errors)
        return Validated(answers=answers, issues=issues, errors=errors, metadata=metadata)

    def _scope(
        self,
        nodes: list[Node],
        names: frozenset[str],
        raw: dict[str, Any],
        out: dict[str, Any],
        env: dict[str, Any],
        loc: list[str | int],
        issues: list[Problem],
        errors: list[Problem],
    ) -> None:
        """One repeat instance (or the whole form): coerce every value, then judge the rules.

        Only nodes that could raise an issue are judged (a required answer that is missing, a
        present answer with a constraint) plus groups, whose relevance gates their children.
        """
        rules: _Rules = []
        repeats: _Repeats = []
        self._fill(nodes, names, raw, out, env, loc, rules, repeats, issues, errors)
        relevance: dict[Node, bool] = {}
        for node, value, where in rules:
            parent = node.parent
            if parent is not None and not relevance[parent]:
                relevant = False
            else:
                relevant = node.relevant is None or _judge(node.relevant, value, env)
            if node.is_group:
                relevance[node] = relevant
            elif not relevant:
                continue
            elif value is None:
                issues.append(Problem(loc=[*where, node.name], code="required", message=node.required_text))
            else:
                if node.rule is not None and not _judge(node.rule, value, env):
                    issues.append(Problem(loc=[*where, node.name], code="constraint", message=node.message))
                if node.filter is not None:
                    for choice in node.filter(value if isinstance(value, list) else [value], env):
                        message = f"{choice!r} is not a choice given the earlier answers"
                        issues.append(
                            Problem(loc=[*where, node.name], code="not_in_choices", message=message)
                        )
        for node, items, here, into in repeats:
            instances = []
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    errors.append(
                        Problem(loc=[*here, i], code="wrong_type", message="a repeat entry must be an object")
                    )
                    continue
                inner: dict[str, Any] = {}
                self._scope(node.children, node.names, item, inner, dict(env), [*here, i], issues, errors)
                instances.append(inner)
            into[node.name] = instances

    def _fill(
        self,
        nodes: list[Node],
        names: frozenset[str],
        raw: dict[str, Any],
        out: dict[str, Any],
        env: dict[str, Any],
        loc: list[str | int],
        rules: _Rules,
        repeats: _Repeats,
        issues: list[Problem],
        errors: list[Problem],
    ) -> None:
        found = 0
        for node in nodes:
            name = node.name
            value = raw.get(name)
            if value is not None:
                found += 1
                if (
                    type(value) is node.native
                    and value != ""
                    and (node.choices is None or value in node.choices)
                ):  # already typed, and nothing to report about it
                    out[name] = value
                    env[name] = value
                    if node.judged:
                        rules.append((node, value, loc))
                    continue
                if value == "" or value == []:  # empty answers are missing answers
                    value = None
            if node.is_group:
                self._fill_group(node, value, out, env, loc, rules, repeats, issues, errors)
                continue
            if node.is_repeat:
                if value is not None:
                    if isinstance(value, list):
                        repeats.append((node, value, [*loc, name], out))
                    else:
                        errors.append(
                            Problem(loc=[*loc, name], code="wrong_type", message="a repeat must be a list")
                        )
                        value = None
            elif value is not None:
                here = [*loc, name]
                try:
                    value = node.coerce(value, here, issues)  # type: ignore[misc]
                except BadValue as exc:
                    errors.append(Problem(loc=here, code=exc.code, message=exc.message))
                    value = None
                else:
                    if node.choices is not None:
                        picked = value if isinstance(value, list) else [value]
                        for choice in picked:
                            if choice not in node.choices:
                                issues.append(
                                    Problem(
                                        loc=[*loc, name],
                                        code="not_in_choices",
                                        message=f"{choice!r} is not a choice",
                                    )
                                )
                    out[name] = value
                    env[name] = value
            if value is None:
                if node.required:
                    rules.append((node, None, loc))
            elif node.judged:
                rules.append((node, value, loc))
        if found != len(raw):
            for key in raw:
                if key not in names and key not in IGNORED_KEYS:
                    issues.append(
                        Problem(
                            loc=[*loc, key],
                            code="unknown_field",
                            message=f"no field {key!r} in this form version",
                        )
                    )

    def _fill_group(
        self,
        node: Node,
        value: Any,
        out: dict[str, Any],
        env: dict[str, Any],
        loc: list[str | int],
        rules: _Rules,
        repeats: _Repeats,
        issues: list[Problem],
        errors: list[Problem],
    ) -> None:
        """A group shares its scope: its answers nest in `out`, its names join the same `env`."""
        here = [*loc, node.name]
        if value is not None and not isinstance(value, dict):
            errors.append(Problem(loc=here, code="wrong_type", message="a group must be an object"))
            value = None
        sub: dict[str, Any] = {}
        rules.append((node, sub, loc))
        queued = len(repeats)
        self._fill(node.children, node.names, value or {}, sub, env, here, rules, repeats, issues, errors)
        if sub or len(repeats) > queued:  # a repeat in the group fills `sub` once its scope is judged
            out[node.name] = sub


def _judge(rule: Compiled, value: Any, env: dict[str, Any]) -> bool:
    """An expression that fails at run time counts as passing: the server never invents a problem."""
    try:
        result = rule(value, env)
        return result if result.__class__ is bool else boolean(result)
    except Exception:
        return True


def compile_validator(defn: FormDefinition, timezone: str = "Asia/Bangkok") -> Validator:
    return Validator(defn, timezone)


_CACHE: dict[tuple[str, str], Validator] = {}


def validator_for(defn: FormDefinition, timezone: str = "Asia/Bangkok") -> Validator:
    """Cached by definition hash (a published version never changes); keeps the 256 latest.

    Hashing costs one encode of the definition; a hot caller may also keep its own map by (key, version).
    """
    key = (definition_hash(defn), timezone)
    validator = _CACHE.get(key)
    if validator is None:
        if len(_CACHE) >= 256:
            _CACHE.pop(next(iter(_CACHE)))
        validator = _CACHE[key] = Validator(defn, timezone)
    return validator
