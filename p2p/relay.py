"""Sending one message or announcement to many peers.

asyncio and the rest of ``p2p``. A broadcast encodes the frame once and queues it without
waiting wherever there is room; only peers with a full send queue are waited for, all at the
same time, so one slow peer costs the others nothing. A peer that fails (closing, or stuck
past its send deadline, which disconnects it) is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any

from p2p.codec import encode_frame
from p2p.errors import P2PError
from p2p.messages import InvItem, Message
from p2p.peer import Peer

Exclude = Peer | Iterable[Peer]


async def broadcast_to(peers: Iterable[Peer], message: Message, exclude: Exclude = ()) -> int:
    """Send ``message`` to ``peers`` but ``exclude``; returns how many took it."""
    frame = encode_frame(message)
    excluded = _as_set(exclude)
    sent, waiting = 0, []
    for peer in peers:
        if peer in excluded:
            continue
        try:
            if peer.try_send(message, frame=frame):
                sent += 1
            else:
                waiting.append(peer)
        except P2PError:
            continue
    if waiting:
        results = await _gather_quietly(peer.send(message, frame=frame) for peer in waiting)
        sent += sum(1 for result in results if result is not False)
    return sent


async def announce_to(peers: Iterable[Peer], items: Iterable[InvItem], exclude: Exclude = ()
                      ) -> int:
    """Announce ``items`` with ``inv`` to each peer not known to have them (and never to
    ``exclude``, typically the peer they came from); returns how many peers got any."""
    items = list(items)
    excluded = _as_set(exclude)
    targets = [peer for peer in peers if peer not in excluded]
    results = await _gather_quietly(peer.announce(items) for peer in targets)
    return sum(1 for count in results if count)


def _as_set(exclude: Exclude) -> set[Peer]:
    return {exclude} if isinstance(exclude, Peer) else set(exclude)


async def _gather_quietly(works: Iterable[Coroutine[Any, Any, Any]]) -> list[Any]:
    """Run ``works`` concurrently; a peer-level failure yields False, anything else raises."""

    async def quietly(work: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await work
        except P2PError:
            return False

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(quietly(work)) for work in works]
    return [task.result() for task in tasks]
