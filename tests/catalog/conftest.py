"""Catalog tests: the inspect command quiets the `app.catalog` logger for its process; a test
that runs it gives the level back, so later tests still see the skip warnings."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _catalog_log_level() -> Iterator[None]:
    logger = logging.getLogger("app.catalog")
    level = logger.level
    yield
    logger.setLevel(level)
