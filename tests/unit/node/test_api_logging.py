"""Admin ``GET/POST /v1/logging`` (Core's ``logging`` RPC): the process's level and one logger's
changed while the node runs, shown back, a logger put back on the process's level, bad bodies
refused; the change takes effect on the next event."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from node import logs
from tests.unit.node.test_api_support import live_api

PATH = "/v1/logging"


@pytest.fixture(autouse=True)
def _restore_levels() -> Iterator[None]:
    root = logging.getLogger().level
    yield
    for name in logs.logger_levels():
        logs.set_level(None, name)
    logging.getLogger().setLevel(root)


async def test_log_levels_change_while_running(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        admin = api.admin
        assert (await api.get(PATH)).status == 401
        assert (await api.post(PATH, json={"level": "debug"})).status == 401

        reply = await api.post(PATH, json={"level": "warning"}, headers=admin)
        assert reply.status == 200, reply.text
        assert reply.json() == {"level": "warning", "loggers": {}}
        assert logging.getLogger().level == logging.WARNING

        reply = await api.post(PATH, json={"logger": "p2p", "level": "debug"}, headers=admin)
        assert reply.json() == {"level": "warning", "loggers": {"p2p": "debug"}}
        assert logging.getLogger("p2p.connmgr").isEnabledFor(logging.DEBUG)  # a child
        assert not logging.getLogger("node.netsync").isEnabledFor(logging.INFO)
        shown = await api.request("GET", PATH, headers=admin)
        assert shown.json() == {"level": "warning", "loggers": {"p2p": "debug"}}

        reply = await api.post(PATH, json={"logger": "p2p", "level": None}, headers=admin)
        assert reply.json() == {"level": "warning", "loggers": {}}
        assert not logging.getLogger("p2p.connmgr").isEnabledFor(logging.DEBUG)

        for body in (
            {},
            {"level": "loud"},
            {"level": None},
            {"level": 10},
            {"level": "info", "logger": "no spaces"},
            {"level": "info", "logger": "x" * 101},
            {"level": "info", "logger": 5},
            {"level": None, "logger": "root"},  # logging's name for the process's own
        ):
            reply = await api.post(PATH, json=body, headers=admin)
            assert reply.status == 400, (body, reply.text)
        assert logs.levels() == {"level": "warning", "loggers": {}}  # nothing changed


def test_at_most_100_loggers_get_their_own_level() -> None:
    for i in range(logs.MAX_LOGGER_LEVELS):
        logs.set_level("debug", f"test_logging.l{i}")
    logs.set_level("error", "test_logging.l0")  # changing one already there is fine
    with pytest.raises(logs.LogLevelError, match="at most 100"):
        logs.set_level("debug", "test_logging.one_more")
