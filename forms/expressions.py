"""XLSForm's expression subset: a hand-written tokenizer and recursive-descent parser (no eval).

Bounded in length and depth so a hostile form cannot exhaust the server. `compile_expr` turns the
AST into nested closures once, so a validator evaluates rules without re-walking the tree.
"""

import operator
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import msgspec

from forms import functions
from forms.errors import FormsError

MAX_LENGTH = 2000
MAX_DEPTH = 50


class ExpressionError(FormsError):
    """The text is not an expression we can parse."""


class Unsupported(ExpressionError):
    """Valid XPath the server does not evaluate; the rule is left to the tablet."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"unsupported in server-side expressions: {what}")


class UnsupportedFunction(Unsupported):
    """A function call the evaluator does not implement."""


class Num(msgspec.Struct, frozen=True, kw_only=True):
    value: float


class Str(msgspec.Struct, frozen=True, kw_only=True):
    value: str


class Ref(msgspec.Struct, frozen=True, kw_only=True):
    name: str


class Current(msgspec.Struct, frozen=True, kw_only=True):
    pass


class BinOp(msgspec.Struct, frozen=True, kw_only=True):
    op: str
    left: "Expr"
    right: "Expr"


class Neg(msgspec.Struct, frozen=True, kw_only=True):
    operand: "Expr"


class Call(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    args: "list[Expr]"


Expr = Num | Str | Ref | Current | BinOp | Neg | Call

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>\d+(?:\.\d*)?|\.\d+)
    | (?P<str>'[^']*'|"[^"]*")
    | (?P<ref>\$\{[^}]*\})
    | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,|\.\.|\.|/|\[|\]|@|\|)
    | (?P<name>[A-Za-z_][A-Za-z0-9_.:-]*)
    )""",
    re.VERBOSE,
)
_REF_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_LEVELS: list[set[str]] = [
    {"or"},
    {"and"},
    {"=", "!="},
    {"<", "<=", ">", ">="},
    {"+", "-"},
    {"*", "div", "mod"},
]


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(f"unexpected character {text[pos:].lstrip()[:1]!r} at {pos}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def parse(text: str) -> Expr:
    """Parse one expression; ExpressionError for bad syntax, Unsupported for XPath we skip."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokenize(text))
    if not parser.tokens:
        raise ExpressionError("empty expression")
    expr = parser.binary(0, 0)
    if parser.pos < len(parser.tokens):
        raise ExpressionError(f"unexpected {parser.tokens[parser.pos][1]!r}")
    return expr


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, value: str) -> None:
        if self.peek()[1] != value:
            raise ExpressionError(f"expected {value!r}, got {self.peek()[1] or 'end of expression'!r}")
        self.pos += 1

    def binary(self, level: int, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"expression nested deeper than {MAX_DEPTH}")
        if level == len(_LEVELS):
            return self.unary(depth)
        left = self.binary(level + 1, depth + 1)
        while self.peek()[1] in _LEVELS[level] and self.peek()[0] in ("op", "name"):
            op = self.tokens[self.pos][1]
            self.pos += 1
            left = BinOp(op=op, left=left, right=self.binary(level + 1, depth + 1))
        return left

    def unary(self, depth: int) -> Expr:
        kind, value = self.peek()
        if value == "-" and kind == "op":
            self.pos += 1
            return Neg(operand=self.unary(depth + 1))
        self.pos += 1
        if kind == "num":
            return Num(value=float(value))
        if kind == "str":
            return Str(value=value[1:-1])
        if kind == "ref":
            name = value[2:-1].strip()
            if not _REF_NAME.fullmatch(name):
                raise ExpressionError(f"bad reference {value!r}")
            return Ref(name=name)
        if kind == "op" and value == ".":
            return Current()
        if kind == "op" and value == "(":
            inner = self.binary(0, depth + 1)
            self.take(")")
            return inner
        if kind == "name" and self.peek()[1] == "(":
            return self.call(value, depth)
        if kind == "op" and value in ("..", "/", "[", "@", "|"):
            raise Unsupported(f"path syntax {value!r}")
        if kind == "name":
            raise Unsupported(f"bare name {value!r} (use ${{{value}}})")
        raise ExpressionError(f"unexpected {value or 'end of expression'!r}")

    def call(self, name: str, depth: int) -> Expr:
        self.take("(")
        args: list[Expr] = []
        if self.peek()[1] != ")":
            args.append(self.binary(0, depth + 1))
            while self.peek()[1] == ",":
                self.pos += 1
                args.append(self.binary(0, depth + 1))
        self.take(")")
        arity = functions.ARITY.get(name)
        if arity is None:
            raise UnsupportedFunction(f"{name}()")
        if not arity[0] <= len(args) <= arity[1]:
            raise ExpressionError(f"{name}() takes {arity[0]}..{arity[1]} arguments, got {len(args)}")
        if name == "regex" and isinstance(args[1], Str):  # a literal pattern is checked once, here
            try:
                functions.compile_pattern(args[1].value)
            except functions.BadPattern as exc:
                raise Unsupported(str(exc)) from None
        return Call(name=name, args=args)


def references(expr: Expr) -> set[str]:
    """The `${name}`s an expression reads."""
    if isinstance(expr, Ref):
        return {expr.name}
    if isinstance(expr, BinOp):
        return references(expr.left) | references(expr.right)
    if isinstance(expr, Neg):
        return references(expr.operand)
    if isinstance(expr, Call):
        return set().union(*(references(a) for a in expr.args))
    return set()


Context = tuple[Any, Mapping[str, Any]]
Compiled = Callable[[Any, Mapping[str, Any]], Any]


def compile_expr(expr: Expr) -> Compiled:
    """Closures taking (current value, answers by name); built once, evaluated many times."""
    test = _numeric_test(expr)
    if test is not None:  # `. >= 0 and . <= 20`: one number() and plain float comparisons
        number = functions.number
        return lambda cur, env: test(number(cur))
    if isinstance(expr, Num | Str):
        const = expr.value
        return lambda cur, env: const
    if isinstance(expr, Current):
        return lambda cur, env: "" if cur is None else cur
    if isinstance(expr, Ref):
        name = expr.name
        return lambda cur, env: _get(env, name)
    if isinstance(expr, Neg):
        inner = compile_expr(expr.operand)
        return lambda cur, env: -functions.number(inner(cur, env))
    if isinstance(expr, Call):
        return _compile_call(expr)
    left, right, op = compile_expr(expr.left), compile_expr(expr.right), expr.op
    boolean = functions.boolean
    if op == "and":
        return lambda cur, env: boolean(left(cur, env)) and boolean(right(cur, env))
    if op == "or":
        return lambda cur, env: boolean(left(cur, env)) or boolean(right(cur, env))
    binary = functions.BINARY[op]
    return lambda cur, env: binary(left(cur, env), right(cur, env))


def _compile_call(expr: Call) -> Compiled:
    fn = functions.FUNCTIONS[expr.name]
    args = [compile_expr(a) for a in expr.args]
    if expr.name == "if":  # evaluate only the branch taken
        c, a, b = args
        boolean = functions.boolean
        return lambda cur, env: a(cur, env) if boolean(c(cur, env)) else b(cur, env)
    if expr.name == "regex" and isinstance(expr.args[1], Str):  # the usual literal pattern
        match, value = functions.regex_matcher(expr.args[1].value), args[0]
        return lambda cur, env: match(value(cur, env))
    if not args:
        return lambda cur, env: fn()
    if len(args) == 1:
        (a,) = args
        return lambda cur, env: fn(a(cur, env))
    if len(args) == 2:
        a, b = args
        return lambda cur, env: fn(a(cur, env), b(cur, env))
    return lambda cur, env: fn(*[f(cur, env) for f in args])


# `partial(op, c)(x)` is `op(c, x)`: the literal on the left, as in `c op .`; `. op c` flips op.
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _numeric_test(expr: Expr) -> Callable[[float], bool] | None:
    """`.` compared with number literals, joined by and/or, as a test on number(.); else None.

    Exact, not an approximation: `<`, `<=`, `>`, `>=` with a number on one side compare number() of
    both sides, and number() of a missing answer is NaN whether it arrives as None or as "".
    """
    if not isinstance(expr, BinOp):
        return None
    if expr.op in ("and", "or"):
        left, right = _numeric_test(expr.left), _numeric_test(expr.right)
        if left is None or right is None:
            return None
        if expr.op == "and":
            return lambda x: left(x) and right(x)
        return lambda x: left(x) or right(x)
    if expr.op not in _OPS:
        return None
    if isinstance(expr.right, Current) and (const := _literal(expr.left)) is not None:
        return partial(_OPS[expr.op], const)
    if isinstance(expr.left, Current) and (const := _literal(expr.right)) is not None:
        return partial(_OPS[_FLIPPED[expr.op]], const)
    return None


def _literal(expr: Expr) -> float | None:
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Neg) and isinstance(expr.operand, Num):
        return -expr.operand.value
    return None


def _get(env: Mapping[str, Any], name: str) -> Any:
    value = env.get(name)
    return "" if value is None else value


def evaluate(expr: Expr, context: Mapping[str, Any], current: Any = None) -> Any:
    """Evaluate once; for repeated use call `compile_expr` and keep the closure."""
    return compile_expr(expr)(current, context)
