"""What chain state hands back: the result of an activation (``ChainUpdate``), of accepting a
block (``AcceptResult``), the ``UnknownParent`` signal, the listener type and the tuning
constants of block connection.

May import consensus, node.blockindex and stdlib. ``node.chain`` re-exports every name here, so
callers keep importing them from ``node.chain``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from consensus.block import Block
from consensus.errors import ConsensusError
from node.blockindex import ChainEntry

ChainListener = Callable[["ChainUpdate"], None]

# Blocks connected together (one SQLite transaction, one signature batch) while catching up:
# at most this many blocks, and no more once the batch holds this many transactions.
CONNECT_BATCH_BLOCKS = 32
CONNECT_BATCH_TXS = 4000
# Batches whose signatures the workers check while the chain thread prepares the next one.
PIPELINE_DEPTH = 2
# Decoded blocks kept for their connection, bounded by an estimate of their memory: a decoded
# block's objects take about DECODED_BLOCK_FACTOR times its encoded size (measured: a block of
# one coinbase with 100 outputs, 3 KB encoded, holds ~15 KB of tuples, ints and bytes).
RECENT_BLOCKS_BYTES = 48 * 1024 * 1024
DECODED_BLOCK_FACTOR = 5
# The coin changes of an activation that connects this many blocks or more (a sync) stay in
# the cache for a later, larger flush; and none stays unwritten for longer than FLUSH_SECONDS
# (what a crash may cost: connecting that long's blocks again, without their signatures).
FLUSH_DEFER_BLOCKS = 16
FLUSH_SECONDS = 120.0


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


def estimated_txs(recent: Mapping[bytes, Block], entry: ChainEntry) -> int:
    """The transactions of ``entry``'s block if its decoded form is at hand (``recent``), else
    an estimate: ``CONNECT_BATCH_TXS // 8``."""
    block = recent.get(entry.hash)
    return len(block.transactions) if block is not None else CONNECT_BATCH_TXS // 8


class ActivationBudget:
    """How many blocks (and transactions, see ``estimated_txs``) one activation takes on."""

    def __init__(
        self, recent: Mapping[bytes, Block], max_blocks: int | None, max_txs: int | None
    ) -> None:
        self._recent = recent
        self._max_blocks = max_blocks if max_blocks is not None else 2**62
        self._max_txs = max_txs if max_txs is not None else 2**62
        self.blocks = 0
        self.txs = 0

    def spent(self) -> bool:
        return self.blocks >= self._max_blocks or self.txs >= self._max_txs

    def extend(self, best: ChainEntry, last: ChainEntry) -> list[ChainEntry]:
        """The blocks after ``last`` towards ``best`` within the budget; none unless ``best``
        descends from ``last``."""
        if best.height <= last.height or best.ancestor(last.height) is not last:
            return []
        return self.take(best, last.height + 1)

    def take(self, best: ChainEntry, start: int, at_least_one: bool = False) -> list[ChainEntry]:
        """``best``'s ancestors from height ``start`` on, while the budget lasts (at least one
        if ``at_least_one``)."""
        taken: list[ChainEntry] = []
        for entry in best.path_from(start):
            if self.spent() and not (at_least_one and not taken):
                break
            self.blocks += 1
            self.txs += estimated_txs(self._recent, entry)
            taken.append(entry)
        return taken


class RecentBlocks(OrderedDict[bytes, Block]):
    """Recently stored blocks, kept decoded for their connection, oldest first; bounded to
    ``RECENT_BLOCKS_BYTES`` of decoded size (at least the newest block stays)."""

    def __init__(self) -> None:
        super().__init__()
        self.nbytes = 0

    def remember(self, block: Block) -> None:
        self[block.hash] = block
        self.nbytes += block.size * DECODED_BLOCK_FACTOR
        while self.nbytes > RECENT_BLOCKS_BYTES and len(self) > 1:
            _, old = self.popitem(last=False)
            self.nbytes -= old.size * DECODED_BLOCK_FACTOR

    def forget(self, hashes: Iterable[bytes]) -> None:
        """Drop the copies of blocks whose data is gone (``node.prune``)."""
        for block_hash in hashes:
            old = self.pop(block_hash, None)
            if old is not None:
                self.nbytes -= old.size * DECODED_BLOCK_FACTOR
