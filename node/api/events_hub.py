"""The fan-out behind ``GET /v1/ws`` (``node.api.events``): subscribers with bounded queues.

May import consensus, node types and the standard library. Event loop only: the chain
listener hands chain updates over with ``call_soon_threadsafe``, and the transaction relay
calls ``publish_txs`` on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from consensus.hashing import hash_to_hex

if TYPE_CHECKING:
    from node.chain import ChainUpdate

MAX_SUBSCRIBERS = 64
# Core's ZMQ high-water mark is 1,000 messages too; 64 subscribers then hold at most ~6 MB.
QUEUE_EVENTS = 1_000
MAX_CLIENT_MESSAGE = 4096
TOPICS = frozenset({"blocks", "txs"})


class Subscriber:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_EVENTS)
        self.topics = set(TOPICS)
        self.overflowed = asyncio.Event()

    def offer(self, topic: str, message: str) -> None:
        if topic not in self.topics or self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()


class EventHub:
    """Event loop only: fans events out to the WebSocket subscribers."""

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()

    def publish_update(self, update: ChainUpdate) -> None:
        if not self.subscribers:
            return
        for block, height in update.disconnected:
            self._publish("blocks", {"event": "block_disconnected", "hash": block.hash_hex,
                                     "height": height})  # fmt: skip
        for block, height in update.connected:
            self._publish("blocks", {"event": "block", "hash": block.hash_hex, "height": height})

    def publish_txs(self, txids: Sequence[bytes]) -> None:
        if not self.subscribers:
            return
        for txid in txids:
            self._publish("txs", {"event": "tx", "txid": hash_to_hex(txid)})

    def _publish(self, topic: str, event: dict[str, Any]) -> None:
        message = json.dumps(event)
        for subscriber in self.subscribers:
            subscriber.offer(topic, message)
