"""Running a long-lived service until SIGINT or SIGTERM, then letting it shut down cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable


def env(name: str, default: str | None = None) -> str | None:
    """The value of ``SEEDCHAIN_<NAME>``, or ``default``."""
    return os.environ.get(f"SEEDCHAIN_{name}", default)


def run_service(main: Callable[[], Awaitable[None]]) -> int:
    """Run ``main()`` until it returns or a signal arrives; a signal cancels it, and its own
    ``finally`` blocks do the clean shutdown. Exit code 0 on a signal."""

    async def runner() -> None:
        task = asyncio.ensure_future(main())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(runner())
    return 0
