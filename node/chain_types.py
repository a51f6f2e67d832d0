"""What chain state hands back: the result of an activation (``ChainUpdate``), of accepting a
block (``AcceptResult``), the ``UnknownParent`` signal, the listener type and the tuning
constants of block connection.

May import consensus, node.blockindex and stdlib. ``node.chain`` re-exports every name here, so
callers keep importing them from ``node.chain``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from consensus.block import Block
from consensus.errors import ConsensusError
from node.blockindex import ChainEntry

ChainListener = Callable[["ChainUpdate"], None]

# Blocks connected together (one SQLite transaction, one signature batch) while catching up:
# at most this many blocks, and no more once the batch holds this many transactions.
CONNECT_BATCH_BLOCKS = 32
CONNECT_BATCH_TXS = 4000
# Decoded blocks kept for their connection, bounded by an estimate of their memory: a decoded
# block's objects take about DECODED_BLOCK_FACTOR times its encoded size (measured: a block of
# one coinbase with 100 outputs, 3 KB encoded, holds ~15 KB of tuples, ints and bytes).
RECENT_BLOCKS_BYTES = 48 * 1024 * 1024
DECODED_BLOCK_FACTOR = 5
# The coin changes of an activation that connects this many blocks or more (a sync) stay in
# the cache for a later, larger flush; and none stays unwritten for longer than FLUSH_SECONDS.
FLUSH_DEFER_BLOCKS = 16
FLUSH_SECONDS = 30.0


class UnknownParent(Exception):
    """A header or block whose parent we have not seen (not a rule violation)."""


@dataclass
class ChainUpdate:
    """What one activation changed: blocks disconnected (newest first) and connected (oldest
    first), each with its height. Listeners (mempool, relay, indexes) get it after the fact."""

    disconnected: list[tuple[Block, int]] = field(default_factory=list)
    connected: list[tuple[Block, int]] = field(default_factory=list)
    # Blocks found invalid while connecting, with the rule they broke (for punishing senders).
    failed: list[tuple[bytes, ConsensusError]] = field(default_factory=list)
    more: bool = False  # activation stopped at its block limit with more to connect

    def __bool__(self) -> bool:
        return bool(self.disconnected or self.connected)


@dataclass
class AcceptResult:
    """``status`` is one of: ``connected`` (now on the active chain), ``stored`` (valid so far,
    on a branch with less work), ``orphan`` (parent unknown, held), ``duplicate``."""

    status: str
    entry: ChainEntry | None = None
    also_accepted: list[Block] = field(default_factory=list)
