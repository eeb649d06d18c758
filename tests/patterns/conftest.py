"""The pattern engine is pure Python (test_pattern_purity.py: it imports nothing from Django), so its tests
need no Redis: these replace the root conftest's autouse Redis fixtures in this directory, and
`pytest tests/patterns` passes with Redis stopped."""

import pytest


@pytest.fixture(scope="session")
def redis_url() -> None:
    """No Redis server, system or embedded, for the pattern engine."""


@pytest.fixture
def redis() -> None:
    """No Redis database to flush."""
