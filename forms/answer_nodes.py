"""What the validator works out once per field at compile time, so each answer costs only lookups."""

from forms.choice_filters import Filter
from forms.expressions import Compiled, ExpressionError, compile_expr, parse
from forms.model import Field, label_text
from forms.values import UNCHANGED, Coercer


class Node:
    """One field, with what `validate` needs per answer worked out once at compile time."""

    __slots__ = (
        "children",
        "choices",
        "coerce",
        "filter",
        "is_group",
        "is_repeat",
        "judged",
        "message",
        "name",
        "names",
        "native",
        "parent",
        "relevant",
        "required",
        "required_text",
        "rule",
    )

    def __init__(self, field: Field, coerce: Coercer | None, parent: "Node | None") -> None:
        self.name = field.name
        self.is_group = field.type == "group"
        self.is_repeat = field.type == "repeat"
        self.coerce = coerce
        self.native: type | None = UNCHANGED.get(field.type)  # a value of this type is stored as given
        self.parent = parent  # the group around it in the same scope, whose relevance gates its own
        self.required = field.required
        self.required_text = label_text(field.required_message, None, None) or "a required answer is missing"
        self.relevant = compile_rule(field.relevant)
        self.rule = compile_rule(field.constraint)
        self.message = (
            label_text(field.constraint_message, None, None) or f"constraint {field.constraint} failed"
        )
        self.choices: frozenset[str] | None = None
        self.filter: Filter | None = None
        self.judged = self.rule is not None  # a present answer is judged after its scope is filled
        self.children: list[Node] = []
        self.names: frozenset[str] = frozenset()


def compile_rule(text: str | None) -> Compiled | None:
    """Rules the server cannot parse or evaluate are skipped; `checks` has already warned about them."""
    if not text:
        return None
    try:
        return compile_expr(parse(text))
    except ExpressionError:
        return None
