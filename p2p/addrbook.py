"""The address book: peer addresses learned from ``addr`` gossip and connections, persisted
as JSON in a directory the caller gives (the node's datadir).

asyncio, structlog and the standard library only; the clock is injected. Written atomically
(temporary file, fsync, ``os.replace``, fsync of the directory). A missing file is an empty
book; a corrupt one is moved aside to ``<name>.corrupt``, logged, and the book starts empty.
Bounded: past ``max_size`` the least recently updated address is dropped.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog

from p2p.address import canonical_address
from p2p.atomicfile import write_atomically
from p2p.errors import InvalidAddress
from p2p.messages import MAX_ADDR_ENTRIES, U64_MAX, AddrEntry

FILE_NAME = "peers.json"
FORMAT_VERSION = 1
DEFAULT_MAX_SIZE = 20_000
HORIZON = 30 * 24 * 60 * 60  # not seen for 30 days: no longer gossiped or dialled
MAX_RETRIES = 3  # failed attempts without any success: terrible
MAX_FUTURE = 10 * 60
GOSSIP_PENALTY = 2 * 60 * 60  # relayed timestamps are aged, as Bitcoin Core does
GETADDR_PERCENT = 23
RETRY_AFTER = 10 * 60  # an address is not dialled again within this many seconds

log = structlog.get_logger("p2p.addrbook")


@dataclass(slots=True)
class AddressInfo:
    address: str
    services: int = 0
    last_seen: int = 0
    last_attempt: int = 0
    last_success: int = 0
    attempts: int = 0  # failed attempts since the last success

    def is_terrible(self, now: int) -> bool:
        if self.last_seen > now + MAX_FUTURE or now - self.last_seen > HORIZON:
            return True
        return self.last_success == 0 and self.attempts >= MAX_RETRIES

    def entry(self) -> AddrEntry:
        return AddrEntry(self.address, self.services, self.last_seen)


class AddressBook:
    def __init__(
        self,
        directory: Path | str,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        clock: Callable[[], float] = time.time,
        file_name: str = FILE_NAME,
        rng: random.Random | None = None,
    ) -> None:
        self.path = Path(directory) / file_name
        self._max_size = max_size
        self._clock = clock
        self._rng = rng or random.Random()
        self._entries: OrderedDict[str, AddressInfo] = OrderedDict()
        self._dirty = False
        self._load()

    # --- queries ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, address: object) -> bool:
        return address in self._entries

    def get(self, address: str) -> AddressInfo | None:
        return self._entries.get(address)

    def addresses(self) -> list[str]:
        return list(self._entries)

    @property
    def dirty(self) -> bool:
        return self._dirty

    def select(self, count: int, exclude: Iterable[str] = (), *,
               retry_after: int = RETRY_AFTER) -> list[str]:
        """Up to ``count`` random addresses worth dialling: not terrible, not excluded, not
        failed in the last ``retry_after`` seconds; those that worked before first."""
        now = self._now()
        excluded = set(exclude)
        good = [
            info for info in self._entries.values()
            if info.address not in excluded
            and not info.is_terrible(now)
            and not (info.last_attempt > info.last_success
                     and now - info.last_attempt < retry_after)
        ]
        self._rng.shuffle(good)
        good.sort(key=lambda info: (info.last_success == 0, info.attempts))
        return [info.address for info in good[:count]]

    def sample(self, count: int) -> list[AddressInfo]:
        """Up to ``count`` random addresses worth telling of (not terrible), for the operator
        (Core's ``getnodeaddresses``); unlike ``getaddr_answer``, not limited to a share."""
        now = self._now()
        good = [info for info in self._entries.values() if not info.is_terrible(now)]
        return self._rng.sample(good, min(count, len(good)))

    def getaddr_answer(self, limit: int = MAX_ADDR_ENTRIES) -> list[AddrEntry]:
        """A random sample for a ``getaddr`` answer: at most ``limit`` (1,000) entries; the
        whole book up to 100 addresses, otherwise the larger of 100 and 23% of it, so one peer
        cannot copy a large book at once."""
        now = self._now()
        good = [info for info in self._entries.values() if not info.is_terrible(now)]
        count = min(limit, max(len(good) * GETADDR_PERCENT // 100, min(len(good), 100)))
        return [info.entry() for info in self._rng.sample(good, count)]

    # --- updates ------------------------------------------------------------------------
    def add(self, address: str, services: int = 0, last_seen: int | None = None,
            *, penalty: int = 0) -> bool:
        """Learn or refresh ``address``; True if it is new. Refuses non-canonical or invalid
        addresses and timestamps from the far future (they are aged instead)."""
        try:
            if canonical_address(address) != address:
                return False
        except InvalidAddress:
            return False
        now = self._now()
        seen = now if last_seen is None else last_seen
        if seen > now + MAX_FUTURE or seen <= 0:
            seen = now - 5 * 24 * 60 * 60
        seen = max(0, min(seen, now) - penalty)
        info = self._entries.get(address)
        if info is not None:
            info.services |= services & U64_MAX
            if seen > info.last_seen:
                info.last_seen = seen
                self._entries.move_to_end(address)
            self._dirty = True
            return False
        self._entries[address] = AddressInfo(address, services & U64_MAX, seen)
        while len(self._entries) > self._max_size:
            self._entries.popitem(last=False)
        self._dirty = True
        return True

    def add_gossip(self, entries: Iterable[AddrEntry]) -> int:
        """Learn addresses from an ``addr`` message (already capped and rate-limited by the
        caller); returns how many were new."""
        return sum(
            self.add(e.address, e.services, e.last_seen, penalty=GOSSIP_PENALTY) for e in entries
        )

    def mark_attempt(self, address: str) -> None:
        info = self._entries.get(address)
        if info is not None:
            info.last_attempt = self._now()
            info.attempts += 1
            self._dirty = True

    def mark_success(self, address: str, services: int | None = None) -> None:
        """A handshake with ``address`` completed (adds the address if it is new)."""
        self.add(address, services or 0)
        info = self._entries.get(address)
        if info is not None:
            now = self._now()
            info.last_success = info.last_seen = now
            info.attempts = 0
            self._entries.move_to_end(address)
            self._dirty = True

    def remove(self, address: str) -> None:
        if self._entries.pop(address, None) is not None:
            self._dirty = True

    # --- persistence --------------------------------------------------------------------
    def snapshot(self) -> bytes:
        document = {
            "version": FORMAT_VERSION,
            "addresses": [asdict(info) for info in self._entries.values()],
        }
        return json.dumps(document, separators=(",", ":")).encode()

    def save(self) -> None:
        """Write the book atomically (blocking; see ``save_async``)."""
        write_atomically(self.path, self.snapshot())
        self._dirty = False

    async def save_async(self) -> None:
        """Snapshot on the event loop, write in a worker thread."""
        data = self.snapshot()
        self._dirty = False
        await asyncio.to_thread(write_atomically, self.path, data)

    def _load(self) -> None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return
        try:
            infos = _parse(raw)
        except (ValueError, TypeError, KeyError) as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            log.warning("addrbook_corrupt", path=str(self.path), error=str(exc),
                        moved_to=str(aside))
            try:
                os.replace(self.path, aside)
            except OSError as move_error:
                log.warning("addrbook_move_failed", error=str(move_error))
            return
        infos.sort(key=lambda info: info.last_seen)
        for info in infos[-self._max_size:]:
            self._entries[info.address] = info
        log.info("addrbook_loaded", path=str(self.path), addresses=len(self._entries))

    def _now(self) -> int:
        return int(self._clock())


def _parse(raw: bytes) -> list[AddressInfo]:
    document: Any = json.loads(raw)
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
        raise ValueError("not an address book of a known version")
    items = document["addresses"]
    if not isinstance(items, list):
        raise TypeError("addresses is not a list")
    result = []
    for item in items:
        info = AddressInfo(**item)
        numbers = (info.services, info.last_seen, info.last_attempt, info.last_success,
                   info.attempts)
        if not all(type(n) is int and 0 <= n <= U64_MAX for n in numbers):
            raise ValueError(f"bad numbers in entry {info.address!r}")
        if not isinstance(info.address, str) or canonical_address(info.address) != info.address:
            raise ValueError(f"bad address {info.address!r}")
        result.append(info)
    return result


class AddrRateLimiter:
    """A token bucket for addresses learned from one peer (Bitcoin Core's numbers: 0.1 a
    second, at most 1,000 banked; starts with one token, plus 1,000 when we ask ``getaddr``)."""

    def __init__(self, rate: float = 0.1, burst: float = MAX_ADDR_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = 1.0
        self._updated = clock()

    def grant(self, tokens: float) -> None:
        self._refill()
        self._tokens += tokens

    def take(self, wanted: int) -> int:
        """How many of ``wanted`` addresses may be processed now."""
        self._refill()
        allowed = min(wanted, int(self._tokens))
        self._tokens -= allowed
        return allowed

    def _refill(self) -> None:
        now = self._clock()
        if self._tokens < self._burst:  # a grant may lift it above the burst; never cut it
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
