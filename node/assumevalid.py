"""Assumed-valid blocks (Bitcoin Core's ``-assumevalid``): during a sync, skip the signature
checks of blocks the operator vouches for.

May import consensus, node.blockindex and the standard library.

``--assume-valid HASH`` names a block the operator knows to be valid (Core ships one per
release). A block's signatures are not verified when all of these hold, and every other rule
(proof of work, amounts, the coins it spends, its merkle root, sizes) is still checked:

- the named block is known (its header arrived) and not found invalid;
- the block being connected is one of its ancestors (so the named block vouches for it);
- the named block sits at least two weeks of work above it (``margin``, as Core's, counted in
  blocks' worth of the named block's work times the target spacing), so the newest blocks
  before it, those an attacker could most cheaply have mined, are checked anyway.

Core also asks the named block to be in the best header chain; here a block the named block
does not descend from is simply checked in full. Nothing is skipped without the option
(the default on every network: Seedchain has no released chain to vouch for).
"""

from __future__ import annotations

from collections.abc import Mapping

from consensus.pow import block_work
from node.blockindex import ChainEntry

TWO_WEEKS = 14 * 24 * 60 * 60


class AssumeValid:
    def __init__(self, block_hash: bytes, spacing: int, margin: int = TWO_WEEKS) -> None:
        self.block_hash = block_hash
        self.spacing = spacing
        self.margin = margin
        self._path: list[ChainEntry] | None = None  # genesis .. the named block, by height

    def covers(self, entries: Mapping[bytes, ChainEntry], entry: ChainEntry) -> bool:
        """Whether ``entry``'s signatures may go unchecked (see the module docstring)."""
        if self._path is None:
            named = entries.get(self.block_hash)
            if named is None:  # its header has not arrived (yet)
                return False
            self._path = named.path_from(0)  # one walk; the ancestry of a block never changes
        path = self._path
        named = path[-1]
        if named.failed or entry.height >= len(path) or path[entry.height] is not entry:
            return False
        blocks_of_work = (named.chainwork - entry.chainwork) // block_work(named.header.bits)
        return blocks_of_work * self.spacing >= self.margin
