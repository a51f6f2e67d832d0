"""Fixtures of the functional tests: ``network`` (a ``TestNetwork`` in the test's temporary
directory; every node and scripted peer it made is stopped afterwards).

Node logs are quiet (warnings and errors only) while a functional test runs; set
``SEEDCHAIN_TEST_LOG=info`` (or ``debug``) to see every event.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from tests.framework.network import TestNetwork


@pytest.fixture(autouse=True)
def _quiet_node_logs() -> Iterator[None]:
    level = getattr(logging, os.environ.get("SEEDCHAIN_TEST_LOG", "warning").upper())
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
    yield
    structlog.reset_defaults()


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[TestNetwork]:
    net = TestNetwork(tmp_path)
    try:
        yield net
    finally:
        await net.aclose()
