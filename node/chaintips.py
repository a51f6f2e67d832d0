"""The tips of the block tree, as Bitcoin Core's ``getchaintips`` reports them.

May import node.blockindex and the standard library. Pure: the caller passes the block
index and a predicate for the active chain, on the chain thread.

A tip is a block with no known child, and the active chain's tip always counts (it may have
children whose data has not arrived). Each gets a status, in Core's order of tests:

- ``active``: the tip of the active chain (``branchlen`` 0);
- ``invalid``: the block or an ancestor breaks a rule;
- ``headers-only``: the data of the block or of an ancestor is missing;
- ``valid-fork``: every block was connected once (fully validated), off the active chain;
- ``valid-headers``: every block is stored and passed its checks, but the branch's blocks
  were never all connected.

``branchlen`` is the number of blocks from the tip down to the active chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from node.blockindex import BlockStatus, ChainEntry

ACTIVE = "active"
INVALID = "invalid"
HEADERS_ONLY = "headers-only"
VALID_FORK = "valid-fork"
VALID_HEADERS = "valid-headers"


class ChainTip(NamedTuple):
    entry: ChainEntry
    branchlen: int
    status: str

    def to_json(self) -> dict[str, object]:
        return {
            "height": self.entry.height,
            "hash": self.entry.hash_hex,
            "branchlen": self.branchlen,
            "status": self.status,
        }


def chain_tips(
    entries: Iterable[ChainEntry], active_tip: ChainEntry, is_active: Callable[[ChainEntry], bool]
) -> list[ChainTip]:
    """Every tip, highest first (the active tip first among equals, then by hash)."""
    tips = [entry for entry in entries if not entry.children and entry is not active_tip]
    found = [ChainTip(active_tip, 0, ACTIVE)]
    for entry in tips:
        found.append(ChainTip(entry, _branch_length(entry, is_active), _status(entry)))
    found.sort(key=lambda tip: (-tip.entry.height, tip.status != ACTIVE, tip.entry.hash_hex))
    return found


def _branch_length(entry: ChainEntry, is_active: Callable[[ChainEntry], bool]) -> int:
    """How many blocks from ``entry`` down to (not including) the active chain."""
    length = 0
    walker: ChainEntry | None = entry
    while walker is not None and not is_active(walker):
        length += 1
        walker = walker.parent
    return length


def _status(entry: ChainEntry) -> str:
    if entry.failed:
        return INVALID
    if not entry.have_chain_data:
        return HEADERS_ONLY
    # A block is connected only after its parent was: a connected tip speaks for its branch.
    return VALID_FORK if entry.status & BlockStatus.VALID else VALID_HEADERS
