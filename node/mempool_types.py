"""The mempool's public value types and the chain view it reads.

Standard library and consensus only; ``node.mempool`` re-exports these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from consensus.utxo import CoinView

MEMPOOL_HEIGHT = 0x7FFF_FFFF  # the height of a coin created by an unconfirmed transaction


class ChainView(Protocol):
    """What the mempool reads of the chain: the UTXO set and the tip (the node's ChainState)."""

    @property
    def coins(self) -> CoinView: ...

    @property
    def tip_height(self) -> int: ...

    @property
    def tip_median_time_past(self) -> int: ...


@dataclass(frozen=True, slots=True)
class AcceptResult:
    """What ``accept`` did. For an orphan, ``fee`` is 0 (its inputs are unknown) and
    ``missing_parents`` lists the txids to ask peers for. ``accepted_orphans`` are orphans
    that this transaction's arrival let into the mempool (relay them too)."""

    txid: bytes
    fee: int
    size: int
    replaced: tuple[bytes, ...] = ()
    evicted: tuple[bytes, ...] = ()
    orphan: bool = False
    missing_parents: tuple[bytes, ...] = ()
    accepted_orphans: tuple[AcceptResult, ...] = ()

    @property
    def accepted(self) -> list[bytes]:
        """Txids now in the mempool because of this call, in the order they went in."""
        own = [] if self.orphan else [self.txid]
        return own + [r.txid for r in self.accepted_orphans]


class MissingParents(Exception):
    """Internal: the transaction spends outputs that neither the chain nor the mempool has."""

    def __init__(self, parents: tuple[bytes, ...]) -> None:
        super().__init__(f"{len(parents)} unknown parent(s)")
        self.parents = parents


@dataclass(frozen=True, slots=True)
class ReorgResult:
    """What a reorg did to the mempool: transactions of disconnected blocks that came back,
    mempool transactions that left (confirmed elsewhere, conflicting, or made invalid), and
    orphans that the returning transactions let in."""

    returned: tuple[bytes, ...]
    removed: tuple[bytes, ...]
    accepted_orphans: tuple[AcceptResult, ...]
