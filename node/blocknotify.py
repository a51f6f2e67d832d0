"""``--block-notify CMD``: run a command when the best block changes (Core's ``-blocknotify``).

May import asyncio, structlog, node modules (``node.server`` only for types) and the standard
library. ``BlockNotifier.run()`` is a task of the node's TaskGroup (it lasts until cancelled).

- ``%s`` in the command becomes the new tip's hash (64 hex digits); the command runs under
  ``/bin/sh -c`` as Core's does, with standard input, output and error on ``/dev/null``, in
  its own process group.
- Not for the tip the node starts with, and not while it is far behind the best header it
  has heard of (Core waits for the end of its initial block download the same way).
- One at a time, without a backlog: when the tip moves while a command runs, the newest tip is
  notified once it has finished, the tips in between are not.
- A run is bounded by ``timeout`` seconds, then its process group is killed. A failure or a
  kill is logged (``block_notify_failed``); it never stops the node.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from node.server import Node

log = structlog.get_logger("seedchain.blocknotify")

BLOCK_NOTIFY_TIMEOUT = 60.0
BLOCK_NOTIFY_LAG = 6  # blocks behind the best header beyond which the node is still syncing


class BlockNotifier:
    def __init__(
        self,
        node: Node,
        command: str,
        *,
        timeout: float = BLOCK_NOTIFY_TIMEOUT,
        lag: int = BLOCK_NOTIFY_LAG,
    ) -> None:
        self.node = node
        self.command = command
        self.timeout = timeout
        self.lag = lag
        self.runs = 0  # commands started, for tests and metrics

    async def run(self) -> None:
        node = self.node
        changed = node.tip_changed_event()
        notified, _ = await node.call(self._tip)  # the start-up tip is not news
        while True:
            await changed.wait()
            changed = node.tip_changed_event()  # taken before the tip is read: no change lost
            tip, height = await node.call(self._tip)
            if tip != notified and not self._syncing(height):
                notified = tip
                await self._notify(tip)

    def _tip(self) -> tuple[str, int]:
        """Chain thread: the tip's hash and height (the chain is read there only)."""
        chain = self.node.chain
        return chain.tip.hash_hex, chain.height

    def _syncing(self, height: int) -> bool:
        netsync = self.node.netsync  # event loop state
        return netsync is not None and netsync.best_header.height - height > self.lag

    async def _notify(self, tip: str) -> None:
        self.runs += 1
        try:
            process = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                self.command.replace("%s", tip),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            log.warning("block_notify_failed", tip=tip, error=str(exc))
            self._count("failed")
            return
        try:
            async with asyncio.timeout(self.timeout):
                code = await process.wait()
        except TimeoutError:
            _kill_group(process.pid)
            await process.wait()
            log.warning("block_notify_failed", tip=tip, error=f"killed after {self.timeout:g} s")
            self._count("killed")
            return
        except asyncio.CancelledError:  # the node is stopping: leave nothing running
            _kill_group(process.pid)
            raise
        if code != 0:
            log.warning("block_notify_failed", tip=tip, exit_code=code)
            self._count("failed")
        else:
            log.debug("block_notified", tip=tip)
            self._count("ok")

    def _count(self, result: str) -> None:
        metrics = getattr(self.node, "metrics", None)
        if metrics is not None:
            metrics.block_notify.labels(result).inc()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
