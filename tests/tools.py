"""The outside tools the tests read our files with (LibreOffice, GDAL, Info-ZIP, PostGIS): where one is
missing a test is skipped, saying which, except under `.ci/run`, which installs them all and sets
SURVEY_TEST_REQUIRE_TOOLS=1, so there a missing tool fails the test instead of hiding it."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRED = os.environ.get("SURVEY_TEST_REQUIRE_TOOLS") == "1"


def unavailable(reason: str) -> None:
    """Skip (on a developer's machine) or fail (in CI): the test cannot run without what `reason` names."""
    if REQUIRED:
        pytest.fail(f"{reason} (SURVEY_TEST_REQUIRE_TOOLS=1)")
    pytest.skip(reason)


def need(command: str, package: str) -> None:
    if shutil.which(command) is None:
        unavailable(f"{command} is not installed (Debian's {package})")
