"""Who is owed what, kept in memory beside the durable share log: the recent shares (the PPLNS
window), the current PROP round, the carried balances; each job's payout comes from here.

May import the standard library, structlog and ``pool`` modules. The share log is the truth;
this is a cache rebuilt from it at start-up (:meth:`Accounting.load`) and kept current by the
log's commit listener (:meth:`Accounting.on_shares`, which only ever sees committed shares, in
id order) and by :meth:`Accounting.refresh_ledger` after any block status change.

The split a job pays is computed from the shares committed when the job is made: the job
records the last share id it saw (``window_end``) and where its window started, and a found
block stores both, so anyone can recompute its outputs from ``GET /v1/pool/shares``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from pool import sharelog
from pool.rewards import (
    Payout,
    ShareWork,
    coinbase_payout,
    pplns_weights,
    split_reward,
)
from pool.sharelog import ShareLog, StoredShare

RELOAD_BATCH = 50_000
MAX_RECENT_SHARES = 2_000_000


@dataclass(frozen=True, slots=True)
class JobPayout:
    """The payout baked into one job's coinbase and the share window it was computed over."""

    scheme: str
    window_start: int  # shares with window_start < id <= window_end were counted
    window_end: int
    payout: Payout


class Accounting:
    def __init__(
        self,
        log: ShareLog,
        *,
        scheme: str,
        operator: str,
        fee_ppm: int,
        pplns_n: int,
        dust: int,
        max_outputs: int,
    ) -> None:
        self.log = log
        self.scheme = scheme
        self.operator = operator
        self.fee_ppm = fee_ppm
        self.pplns_n = pplns_n
        self.dust = dust
        self.max_outputs = max_outputs
        self._recent: deque[ShareWork] = deque()  # oldest first
        self._recent_work = 0
        self._recent_complete = True  # the deque starts at the log's first share
        self._keep_work = 0
        self.last_share_id = 0
        self.round_start = 0
        self._round: dict[str, int] = {}
        self._round_pending: list[ShareWork] | None = None
        self.carried: dict[str, int] = {}
        self._lock = asyncio.Lock()

    # --- keeping current ----------------------------------------------------------------------
    async def load(self) -> None:
        """Rebuild everything from the share log (before any share is accepted)."""
        self.last_share_id = await self.log.call(sharelog.max_share_id)
        self._recent.clear()
        self._recent_work = 0
        self._recent_complete = self.last_share_id == 0
        await self._extend_recent(RELOAD_BATCH)
        await self.refresh_ledger()

    def on_shares(self, stored: list[StoredShare]) -> None:
        """Share-log listener: shares just committed, in id order."""
        for item in stored:
            if item.share_id <= self.last_share_id:
                continue
            share = ShareWork(item.share_id, item.record.address, item.record.work)
            self.last_share_id = item.share_id
            self._recent.append(share)
            self._recent_work += share.work
            if share.share_id > self.round_start:
                self._round[share.address] = self._round.get(share.address, 0) + share.work
                if self._round_pending is not None:
                    self._round_pending.append(share)
        self._trim()

    async def refresh_ledger(self) -> None:
        """Re-read carried balances and the PROP round from the log (after a block is recorded
        or changes status)."""
        async with self._lock:
            self.carried = await self.log.call(sharelog.carried_balances)
            start = await self.log.call(sharelog.round_start)
            upto = self.last_share_id
            self._round_pending = []
            try:
                totals = await self.log.call(sharelog.work_between, start, upto)
                for share in self._round_pending:
                    if share.share_id > start:
                        totals[share.address] = totals.get(share.address, 0) + share.work
            finally:
                self._round_pending = None
            self.round_start, self._round = start, totals

    def _trim(self) -> None:
        """Drop shares older than needed for twice the largest window asked for so far."""
        while len(self._recent) > MAX_RECENT_SHARES or (
            self._recent and self._recent_work - self._recent[0].work >= self._keep_work > 0
        ):
            self._recent_work -= self._recent.popleft().work
            self._recent_complete = False

    def needed_after(self) -> int | None:
        """For pruning: shares with a greater id may still enter a PPLNS window (those of twice
        the largest window asked for so far; see ``_trim``); None when the scheme is not PPLNS,
        0 when that is not known yet (no window asked for, or the in-memory shares do not reach
        back far enough)."""
        if self.scheme != "pplns":
            return None
        if not self._recent:
            return self.last_share_id if self._recent_complete and self._keep_work else 0
        if self._keep_work and (self._recent_work >= self._keep_work or self._recent_complete):
            return self._recent[0].share_id - 1
        return 0

    async def _extend_recent(self, limit: int) -> bool:
        """Prepend up to ``limit`` older shares from the log; False if there were none."""
        before = self._recent[0].share_id if self._recent else self.last_share_id + 1
        rows = await self.log.call(sharelog.newest_shares, before, limit)
        if len(rows) < limit:
            self._recent_complete = True
        for share_id, address, work in rows:  # newest first
            self._recent.appendleft(ShareWork(share_id, address, int(work)))
            self._recent_work += int(work)
        return bool(rows)

    # --- payouts ------------------------------------------------------------------------------
    async def payout(self, reward: int, block_work: int, finder: str | None) -> JobPayout:
        """The payout of a job made now, for a block of ``block_work`` paying ``reward``;
        ``finder`` is the address a SOLO job pays."""
        end = self.last_share_id
        if self.scheme == "pplns":
            window = self.pplns_n * block_work
            self._keep_work = max(self._keep_work, 2 * window)
            while self._recent_work < window and not self._recent_complete:
                if not await self._extend_recent(RELOAD_BATCH):
                    break
            weights, start = self._pplns(window, end)
        elif self.scheme == "prop":
            weights, start = dict(self._round), self.round_start
        else:
            weights, start = ({finder: 1} if finder else {}), end
        miners, operator_amount = split_reward(reward, self.fee_ppm, weights)
        payout = coinbase_payout(
            reward,
            miners,
            operator_amount,
            self.carried,
            self.operator,
            self.dust,
            self.max_outputs,
        )
        return JobPayout(self.scheme, start, end, payout)

    def _pplns(self, window: int, end: int) -> tuple[dict[str, int], int]:
        newest_first = [s for s in reversed(self._recent) if s.share_id <= end]
        weights = pplns_weights(newest_first, window)
        counted, oldest = 0, end
        for share in newest_first:
            if counted >= window:
                break
            counted += share.work
            oldest = share.share_id
        return weights, (oldest - 1 if weights else end)

    @property
    def round_work(self) -> dict[str, int]:
        return dict(self._round)
