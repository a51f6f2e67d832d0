"""Stall detection during block download, as Bitcoin Core does it: only the peer holding the
first block we lack can hold the download window up, so only that peer is dropped, and never
the last one that could serve the block. Each drop doubles the timeout (up to
``MAX_STALL_FACTOR`` times the configured one); every block that arrives shrinks it by
``STALL_DECAY``: on a busy machine every peer is slow, and dropping them all would stop the
sync instead of speeding it up.

May import node.blockindex, p2p and stdlib; works on ``node.netsync.NetSync``'s state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from node.blockindex import BlockStatus
from p2p.errors import DisconnectReason

if TYPE_CHECKING:
    from node.netsync import NetSync, PeerSync

log = structlog.get_logger("seedchain.sync")

MAX_STALL_FACTOR = 16.0  # the stall timeout grows to at most this many times the configured
STALL_DECAY = 0.85  # each received block shrinks the grown timeout by this factor


def check_stalls(sync: NetSync) -> None:
    """Drop the peer that holds up the download window, as Bitcoin Core does: the peer
    asked for the first block we still lack after our tip, if it has held that block past
    the stall timeout while our tip has not moved for as long, and another connected peer
    could serve the block instead. One peer per check. Each such drop doubles the timeout
    (up to ``MAX_STALL_FACTOR`` times the configured one), and every block that arrives
    brings it back down by 15%: on a busy machine every peer is slow, and dropping them
    all would stop the sync instead of speeding it up."""
    now = sync.clock()
    timeout = sync.stall_timeout * sync.stall_factor
    if now - sync.last_tip_change < timeout:
        return
    blocking = first_in_flight(sync)
    if blocking is None:
        return
    state, asked = blocking
    if now - asked < timeout or not has_alternative(sync, state):
        return
    log.info(
        "peer_stalling",
        peer=state.peer.address,
        blocks=len(state.in_flight),
        timeout=round(timeout, 1),
    )
    sync.stall_factor = min(sync.stall_factor * 2, MAX_STALL_FACTOR)
    sync.last_tip_change = now  # the next peer gets a full timeout of its own
    state.peer.close(DisconnectReason("stalling", "block download timed out"))


def first_in_flight(sync: NetSync) -> tuple[PeerSync, float] | None:
    """Who holds the first block of the best header chain we lack, and since when (None
    when nobody has been asked for it: then no peer is holding the window up)."""
    chain = sync.best_chain
    for height in range(sync.chain.tip.height + 1, len(chain)):
        entry = chain[height]
        if entry.status & BlockStatus.HAVE_DATA:
            continue
        state = sync.in_flight.get(entry.hash)
        asked = None if state is None else state.in_flight.get(entry.hash)
        return None if state is None or asked is None else (state, asked)
    return None


def has_alternative(sync: NetSync, staller: PeerSync) -> bool:
    return any(
        other is not staller
        and other.peer.connected
        and other.best is not None
        and sync._on_best_chain(other.best)
        for other in sync.peers.values()
    )
