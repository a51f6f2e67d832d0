"""Showing initial sync: a progress bar on a terminal, ``sync_progress`` log events otherwise.

The bar is a ``rich`` live display on stderr. While it is up, the log handler writes through
rich's stderr proxy, so log lines scroll above the bar instead of tearing it.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

import structlog
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

log = structlog.get_logger("seedchain.sync")

BEHIND_THRESHOLD = 10  # blocks behind the best header before we call it syncing
LOG_INTERVAL = 5.0


class SyncProgress:
    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self._progress: Progress | None = None
        self._task: int | None = None
        self._last_log = 0.0
        self._last_height = 0
        self._syncing = False

    def update(self, height: int, target: int) -> None:
        behind = target - height
        if behind <= BEHIND_THRESHOLD:
            if self._syncing:
                self._syncing = False
                self.stop()
                log.info("sync_done", height=height)
            return
        if not self._syncing:
            self._syncing = True
            self._last_log, self._last_height = time.monotonic(), height
            log.info("sync_started", height=height, target=target)
        if self.interactive:
            self._show(height, target)
        else:
            self._log(height, target)

    def _show(self, height: int, target: int) -> None:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("[bold]syncing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("sync", total=target)
            _point_log_handlers_at(sys.stderr)
        assert self._task is not None
        self._progress.update(self._task, completed=height, total=target)  # type: ignore[arg-type]

    def _log(self, height: int, target: int) -> None:
        now = time.monotonic()
        if now - self._last_log < LOG_INTERVAL:
            return
        rate = (height - self._last_height) / (now - self._last_log)
        self._last_log, self._last_height = now, height
        log.info(
            "sync_progress",
            height=height,
            target=target,
            percent=round(100 * height / max(target, 1), 1),
            blocks_per_s=round(rate, 1),
        )

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            _point_log_handlers_at(sys.stderr)


def _point_log_handlers_at(stream: TextIO) -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
