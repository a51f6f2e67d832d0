"""Discouraged hosts: addresses that misbehaved, refused for a while (24 hours by default).

Standard library only; the clock is injected so tests can move time. Discouragement goes by
host (the IP of ``ip:port``), since an inbound peer's port changes with every connection.
Bounded: past ``capacity`` hosts the one whose discouragement ends first is forgotten.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from p2p.address import host_of
from p2p.settings import DISCOURAGE_SECONDS

DEFAULT_CAPACITY = 50_000


class DiscouragedHosts:
    def __init__(
        self,
        duration: float = DISCOURAGE_SECONDS,
        *,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._duration = duration
        self._capacity = capacity
        self._clock = clock
        self._until: dict[str, float] = {}

    def discourage(self, address: str) -> None:
        """Discourage the host of ``address`` (``ip:port`` or a bare host) from now on."""
        host = host_of(address)
        self._until[host] = self._clock() + self._duration
        if len(self._until) > self._capacity:
            self._prune()
            while len(self._until) > self._capacity:
                del self._until[min(self._until, key=self._until.__getitem__)]

    def is_discouraged(self, address: str) -> bool:
        host = host_of(address)
        until = self._until.get(host)
        if until is None:
            return False
        if until <= self._clock():
            del self._until[host]
            return False
        return True

    def forgive(self, address: str) -> None:
        self._until.pop(host_of(address), None)

    def clear(self) -> None:
        self._until.clear()

    def hosts(self) -> dict[str, float]:
        """Each discouraged host and the Unix time its discouragement ends."""
        self._prune()
        return dict(self._until)

    def __len__(self) -> int:
        return len(self._until)

    def _prune(self) -> None:
        now = self._clock()
        for host in [h for h, until in self._until.items() if until <= now]:
            del self._until[host]
