"""The node's periodic peer checks, run by the relay loop: block-download stalls
(``node.netstall``, every second), and every 45 seconds a stale tip and lagging outbound peers,
after Bitcoin Core's ``CheckForStaleTipAndEvictPeers`` and ``ConsiderEviction``.

The tip looks stale when it has not moved for ``stale_tip_age(params)`` (three block intervals,
and at least 30 minutes: regtest's one-second spacing would otherwise call every pause
stale) while no block is being downloaded. Then the connection manager may dial one automatic
outbound peer beyond its slots, in case every peer it has is on a stale or withheld chain (an
eclipse); once the tip moves again the slot goes, and the outbound peer whose last block came
longest ago is closed, so the count comes back to the configured one.

An automatic outbound peer whose best known chain has less work than our tip gets 20 minutes
(``CHAIN_SYNC_TIMEOUT_SECONDS``) to show a chain with at least the work our tip had then; past
that it is asked for headers, and if two minutes later it still has not, it is closed (reason
``chain_sync_timeout``, not discouraged: lagging is not misbehaving) so that its slot goes to a
peer that can help. As in Core, the first four outbound peers seen with a chain as good as ours
are protected from this.

May import p2p, node modules, structlog and stdlib.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from consensus.params import ChainParams
from p2p.errors import CHAIN_SYNC_TIMEOUT
from p2p.peer import Peer

if TYPE_CHECKING:
    from node.netsync import NetSync
    from p2p.connmgr import ConnectionManager

log = structlog.get_logger("seedchain.sync")

STALL_CHECK_INTERVAL = 1.0
STALE_CHECK_INTERVAL = 45.0  # Core's EXTRA_PEER_CHECK_INTERVAL
MIN_STALE_TIP_AGE = 30 * 60.0
CHAIN_SYNC_TIMEOUT_SECONDS = 20 * 60.0  # Core's CHAIN_SYNC_TIMEOUT
HEADERS_RESPONSE_TIME = 2 * 60.0  # Core's HEADERS_RESPONSE_TIME
MAX_PROTECTED = 4  # Core's MAX_OUTBOUND_PEERS_TO_PROTECT_FROM_DISCONNECT


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


@dataclass
class _Watch:
    deadline: float
    work: int  # our tip's work when the clock started: the peer must show as much
    asked: bool = False  # headers were requested after the deadline


class ChainSyncWatch:
    """Core's ``ConsiderEviction`` for the automatic outbound peers (see the module docstring);
    ``check`` returns the peers it closed."""

    def __init__(self) -> None:
        self.watches: dict[Peer, _Watch] = {}
        self.protected: set[Peer] = set()

    async def check(self, sync: NetSync, peers: Sequence[Peer], now: float) -> list[Peer]:
        live = set(peers)
        self.protected &= live
        self.watches = {peer: w for peer, w in self.watches.items() if peer in live}
        tip_work = sync.chain.tip.chainwork
        closed = []
        for peer in peers:
            state = sync.peers.get(peer)
            if state is None or peer in self.protected:
                continue
            work = state.best.chainwork if state.best is not None else 0
            watch = self.watches.get(peer)
            if work >= tip_work:
                self.watches.pop(peer, None)
                if len(self.protected) < MAX_PROTECTED:
                    self.protected.add(peer)
            elif watch is None or work >= watch.work:  # (again) behind: start the clock
                self.watches[peer] = _Watch(now + CHAIN_SYNC_TIMEOUT_SECONDS, tip_work)
            elif now >= watch.deadline and not watch.asked:
                watch.asked, watch.deadline = True, now + HEADERS_RESPONSE_TIME
                await sync.request_headers(peer)
            elif now >= watch.deadline:
                log.info("chain_sync_timeout", peer=peer.address, work=work, ours=tip_work)
                peer.close(CHAIN_SYNC_TIMEOUT)
                closed.append(peer)
        return closed


class PeerChecks:
    """The relay loop's periodic checks; ``run(now)`` does those that are due."""

    def __init__(self, sync: NetSync, connmgr: ConnectionManager, params: ChainParams) -> None:
        self.sync, self.connmgr = sync, connmgr
        self.max_age = stale_tip_age(params)
        self.next_stall = self.next_stale = 0.0
        self.chain_sync = ChainSyncWatch()

    async def run(self, now: float) -> None:
        if now >= self.next_stall:
            self.next_stall = now + STALL_CHECK_INTERVAL
            await self.sync.check_stalls()
        if now >= self.next_stale:
            self.next_stale = now + STALE_CHECK_INTERVAL
            check_stale_tip(self.sync, self.connmgr, now, self.max_age)
            await self.chain_sync.check(self.sync, self.connmgr.automatic_outbound_peers(), now)
