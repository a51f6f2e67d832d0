"""Request deadlines for the API middleware, checked by one sweeper instead of one timer each.

May import asyncio and the standard library.

``asyncio.timeout`` around every request made a timer, pushed it on the loop's heap, found the
running loop and task several times and cancelled the timer again: ~6% of the event loop's
time under ``POST /v1/tx`` load (docs/benchmarks.md). Deadlines of tens of seconds need no such
precision, so a request only records ``task -> deadline`` in a dict here, and a sweeper task
(``run``, started with the application) cancels, every ``RESOLUTION`` seconds, the requests
past theirs. The middleware turns that cancellation into its 503 ``timeout`` answer the way
``asyncio.timeout`` turns it into ``TimeoutError``: it asks :meth:`Deadlines.expired`, which
also un-cancels the task, so a cancellation from elsewhere (a client gone, shutdown) still
propagates.

Entries are added just before a handler is awaited and removed as soon as it returns, on the
event loop, so a task the sweeper cancels is always suspended inside its handler.
"""

from __future__ import annotations

import asyncio

RESOLUTION = 0.25  # seconds: how late a deadline may fire


class Deadlines:
    def __init__(self, resolution: float = RESOLUTION) -> None:
        self.resolution = resolution
        self._due: dict[asyncio.Task[object], float] = {}
        self._cancelled: set[asyncio.Task[object]] = set()

    def __len__(self) -> int:
        return len(self._due)

    def add(self, task: asyncio.Task[object], deadline: float) -> None:
        """``task`` must finish by ``deadline`` (the loop's clock)."""
        self._due[task] = deadline

    def discard(self, task: asyncio.Task[object]) -> None:
        self._due.pop(task, None)

    def expired(self, task: asyncio.Task[object]) -> bool:
        """Whether the sweeper cancelled ``task`` for its deadline; if so the cancellation is
        taken back (``Task.uncancel``) and the caller answers instead of propagating it."""
        if task not in self._cancelled:
            return False
        self._cancelled.discard(task)
        task.uncancel()
        return True

    def sweep(self, now: float) -> int:
        """Cancel every task past its deadline; how many."""
        late = [task for task, deadline in self._due.items() if deadline <= now]
        for task in late:
            del self._due[task]
            if task.cancel():
                self._cancelled.add(task)
        return len(late)

    async def run(self) -> None:
        """Sweep every ``resolution`` seconds until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.resolution)
            if self._due:
                self.sweep(loop.time())
