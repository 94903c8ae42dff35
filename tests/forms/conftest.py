"""Builds XLSForm workbooks in memory, so no binary files are committed."""

from collections.abc import Callable

import pytest

from tests.workbooks import build_xlsx


@pytest.fixture
def xlsx() -> Callable[..., bytes]:
    return build_xlsx
