"""The PostgreSQL server the tests use, and what a test does when something it needs is missing."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str, in_ci: str) -> NoReturn:
    """Skip the test for ``reason``; under ``CI=true``, where everything must run, fail it
    instead, saying ``in_ci`` after the reason."""
    if IN_CI:
        pytest.fail(f"{reason} ({in_ci})")
    pytest.skip(reason)
