"""Fixtures of the forms suite: XLSForm workbooks built in memory (no binary files are committed), and
what a JSON definition is refused for."""

from collections.abc import Callable
from typing import Any

import pytest

from forms.decoding import decode_definition
from forms.errors import InvalidDefinition
from tests.workbooks import build_xlsx

Refusals = Callable[[dict[str, Any]], list[tuple[list[Any], str]]]


@pytest.fixture
def xlsx() -> Callable[..., bytes]:
    return build_xlsx


@pytest.fixture
def problems() -> Refusals:
    """The place and code of each problem a JSON definition is refused for (it must be refused)."""

    def refused(data: dict[str, Any]) -> list[tuple[list[Any], str]]:
        with pytest.raises(InvalidDefinition) as refusal:
            decode_definition(data)
        return [(p.loc, p.code) for p in refusal.value.problems]

    return refused
