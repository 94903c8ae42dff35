"""Every form the test suite uses, found where the tests write them, for the XForm conformance test.

A new test's form joins the corpus by itself: each test module is read as Python (ast) and every
JSON definition literal (a dict with "key", "version" and "fields") and every `build_xlsx(...)` /
`build_xls(...)` call is evaluated in its module's globals plus the simple assignments before it in
its function (and each case of its `parametrize`). What the server refuses is left out (many tests
upload bad forms on purpose): only what a coordinator could publish needs an XForm. The demo's forms
and examples/ are added by name.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
from _pytest.mark.structures import ParameterSet

from forms.decoding import decode_checked
from forms.errors import FormsError
from forms.model import FormDefinition
from forms.xlsform import load_xlsform
from survey_api.demo import campaign

ROOT = Path(__file__).resolve().parents[2]
BUILDERS = frozenset({"build_xlsx", "build_xls"})
DEFINITION_KEYS = frozenset({"key", "version", "fields"})


class Form(msgspec.Struct, frozen=True, kw_only=True):
    """One form the server accepts: where the tests write it, its definition and its workbook if any."""

    source: str
    definition: FormDefinition
    workbook: bytes | None = None


class Corpus(msgspec.Struct, kw_only=True):
    forms: list[Form]
    unevaluated: list[str]
    """Places that write a form from values only a running test has (fixtures, loop variables)."""
    refused: int
    """Forms the server refuses (written to test the refusal): no XForm is made of them."""


def corpus() -> Corpus:
    forms: dict[str, Form] = {}
    unevaluated: list[str] = []
    refused = 0
    for source, value in itertools.chain(_written_in_tests(unevaluated), _named()):
        form = _accepted(source, value)
        if form is None:
            refused += 1
            continue
        digest = hashlib.sha256(form.workbook or msgspec.json.encode(form.definition)).hexdigest()
        forms.setdefault(digest, form)
    return Corpus(forms=list(forms.values()), unevaluated=unevaluated, refused=refused)


def _named() -> Iterator[tuple[str, Any]]:
    yield "survey_api/demo/campaign.py audit_workbook()", campaign.audit_workbook()
    for version in (1, 2):
        yield f"survey_api/demo/campaign.py spaces_form({version})", campaign.spaces_form(version)
    for path in sorted((ROOT / "examples").glob("*.xls*")):
        yield str(path.relative_to(ROOT)), path.read_bytes()


def _accepted(source: str, value: Any) -> Form | None:
    try:
        if isinstance(value, bytes):
            definition, _ = load_xlsform(value, "form.xlsx")
            return Form(source=source, definition=definition, workbook=value)
        definition, _ = decode_checked(value)
    except FormsError:
        return None
    return Form(source=source, definition=definition)


def _written_in_tests(unevaluated: list[str]) -> Iterator[tuple[str, Any]]:
    here = Path(__file__).resolve()
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.resolve() == here or path.name == "conftest.py" or "node_modules" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not any(_is_form(node) for node in ast.walk(tree)):
            continue
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        reader = _Reader(path, tree, dict(vars(module)), unevaluated)
        yield from reader.body(tree.body, dict(reader.globals))


class _Reader:
    """Evaluates the forms one test module writes. A helper that builds a form from its parameters
    (`def workbook(version, with_width=False)`) is read at each of its calls, with the parameters
    that call sets, instead of where it is defined."""

    def __init__(
        self, path: Path, tree: ast.Module, globals_: dict[str, Any], unevaluated: list[str]
    ) -> None:
        self.path, self.globals, self.unevaluated = path, globals_, unevaluated
        self.helpers = {
            node.name: node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.args.args
            and not node.name.startswith("test")
            and any(_is_form(inner) for inner in ast.walk(node))
        }
        self.depth = 0

    def eval(self, node: ast.expr, scope: dict[str, Any]) -> Any:
        return eval(compile(ast.Expression(node), str(self.path), "eval"), scope)

    def body(self, body: list[ast.stmt], scope: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        """Forms written in `body`, evaluated in `scope` grown by each simple assignment in turn."""
        for statement in body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                if statement.name not in self.helpers:
                    for case in _cases(statement, scope):
                        yield from self.body(statement.body, scope | case)
                continue
            if isinstance(statement, ast.ClassDef):
                continue
            if isinstance(statement, ast.With | ast.AsyncWith | ast.If | ast.Try):
                inner = [
                    *statement.body,
                    *getattr(statement, "orelse", []),
                    *getattr(statement, "finalbody", []),
                ]
                yield from self.body(inner, scope)
                continue
            for node in _outermost_forms(statement):
                where = f"{self.path.relative_to(ROOT)}:{node.lineno}"
                try:
                    yield where, self.eval(node, scope)
                except Exception:  # a name only the running test binds (a fixture, a loop variable)
                    self.unevaluated.append(where)
            yield from self.helper_calls(statement, scope)
            if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
                self.assign(statement, scope)

    def assign(self, statement: ast.Assign | ast.AnnAssign, scope: dict[str, Any]) -> None:
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        try:
            value = self.eval(statement.value, scope)  # type: ignore[arg-type]
        except Exception:  # a form that needs this name is reported as unevaluated
            return
        for target in targets:
            if isinstance(target, ast.Name):
                scope[target.id] = value

    def helper_calls(self, statement: ast.stmt, scope: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        if self.depth > 3:
            return
        for node in ast.walk(statement):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in self.helpers
            ):
                helper = self.helpers[node.func.id]
                self.depth += 1
                yield from self.body(helper.body, dict(self.globals) | self.bind(helper, node, scope))
                self.depth -= 1

    def bind(
        self, helper: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call, scope: dict[str, Any]
    ) -> dict[str, Any]:
        """The helper's parameters as this call sets them; one that cannot be evaluated stays unbound."""
        params = [a.arg for a in helper.args.args]
        defaults = helper.args.defaults
        given: dict[str, tuple[ast.expr, dict[str, Any]]] = {
            name: (node, self.globals)
            for name, node in zip(params[len(params) - len(defaults) :], defaults, strict=True)
        }
        given |= {name: (node, scope) for name, node in zip(params, call.args, strict=False)}
        given |= {k.arg: (k.value, scope) for k in call.keywords if k.arg is not None}
        bound: dict[str, Any] = {}
        for name, (node, where) in given.items():
            try:
                bound[name] = self.eval(node, where)
            except Exception:  # a fixture (client, person): the forms do not use them
                continue
        return bound


def _cases(function: ast.FunctionDef | ast.AsyncFunctionDef, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """One scope per case of the function's `pytest.mark.parametrize` decorators (one empty without)."""
    cases: list[dict[str, Any]] = [{}]
    for decorator in function.decorator_list:
        if not (isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith("parametrize")):
            continue
        try:
            names, values = (
                eval(compile(ast.Expression(a), "<decorator>", "eval"), scope) for a in decorator.args[:2]
            )
        except Exception:
            continue
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        rows = [
            tuple(v.values) if isinstance(v, ParameterSet) else tuple(v) if len(names) > 1 else (v,)
            for v in values
        ]
        cases = [case | dict(zip(names, row, strict=False)) for case in cases for row in rows]
    return cases


def _outermost_forms(statement: ast.stmt) -> Iterator[ast.expr]:
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.expr) and _is_form(node):
            yield node
            continue
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))


def _is_form(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id in BUILDERS
    if isinstance(node, ast.Dict):
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        return keys >= DEFINITION_KEYS
    return False
