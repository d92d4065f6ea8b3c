"""Skips that would hide missing set-up: skip on a laptop, fail in CI (``CI=true``)."""
import os

import pytest


def require(condition: bool, what: str) -> None:
    """Go on if ``condition`` holds; otherwise skip the test, or fail it when ``CI=true`` (a CI
    machine is set up with everything, so a missing piece there is an error, not a skip)."""
    if condition:
        return
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true but {what}: the CI set-up is incomplete.", pytrace=False)
    pytest.skip(what)
