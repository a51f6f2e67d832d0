"""The node's periodic peer checks, run by the relay loop: block-download stalls
(``node.netstall``, every second) and a stale tip (every 45 seconds), after Bitcoin Core's
``CheckForStaleTipAndEvictPeers``.

The tip looks stale when it has not moved for ``stale_tip_age(params)`` (three block intervals,
and at least 30 minutes: regtest's one-second spacing would otherwise call every pause
stale) while no block is being downloaded. Then the connection manager may dial one automatic
outbound peer beyond its slots, in case every peer it has is on a stale or withheld chain (an
eclipse); once the tip moves again the slot goes, and the outbound peer whose last block came
longest ago is closed, so the count comes back to the configured one.

May import p2p, node modules, structlog and stdlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from consensus.params import ChainParams

if TYPE_CHECKING:
    from node.netsync import NetSync
    from p2p.connmgr import ConnectionManager

log = structlog.get_logger("seedchain.sync")

STALL_CHECK_INTERVAL = 1.0
STALE_CHECK_INTERVAL = 45.0  # Core's EXTRA_PEER_CHECK_INTERVAL
MIN_STALE_TIP_AGE = 30 * 60.0


def stale_tip_age(params: ChainParams) -> float:
    """Seconds without a new tip after which it looks stale: 3 block intervals, >= 30 min."""
    return max(3.0 * params.spacing, MIN_STALE_TIP_AGE)


def check_stale_tip(sync: NetSync, connmgr: ConnectionManager, now: float, max_age: float) -> bool:
    """One stale-tip check: ask for the extra outbound peer while the tip looks stale (by the
    sync's clock), drop the slot when it does not, and close one automatic outbound peer too
    many (``now``: ``time.monotonic()``, the peers' clock). Returns whether it looks stale."""
    age = sync.clock() - sync.last_tip_change
    stale = age > max_age and not sync.in_flight
    if stale and not connmgr.extra_outbound:
        log.warning("stale_tip", seconds=round(age), height=sync.chain.tip.height)
    connmgr.try_extra_outbound(stale)
    connmgr.evict_extra_outbound(now)
    return stale


class PeerChecks:
    """The relay loop's periodic checks; ``run(now)`` does those that are due."""

    def __init__(self, sync: NetSync, connmgr: ConnectionManager, params: ChainParams) -> None:
        self.sync, self.connmgr = sync, connmgr
        self.max_age = stale_tip_age(params)
        self.next_stall = self.next_stale = 0.0

    async def run(self, now: float) -> None:
        if now >= self.next_stall:
            self.next_stall = now + STALL_CHECK_INTERVAL
            await self.sync.check_stalls()
        if now >= self.next_stale:
            self.next_stale = now + STALE_CHECK_INTERVAL
            check_stale_tip(self.sync, self.connmgr, now, self.max_age)
