"""End-to-end fixtures: a data dir of its own and the `survey-api` processes started on it."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.harness import Instance


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    """Logs go to pytest's tmp dir; the data dir is made elsewhere (see `Instance`) and removed after."""
    made = Instance(tmp_path)
    try:
        yield made
    finally:
        made.teardown()
