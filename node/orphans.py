"""A bounded pool of blocks whose parent is not known yet. Stdlib and consensus only."""

from __future__ import annotations

from collections import OrderedDict

from consensus.block import Block


class OrphanBlocks:
    """At most ``max_blocks`` blocks and ``max_bytes`` bytes; the oldest leave first."""

    def __init__(self, max_blocks: int = 64, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_blocks = max_blocks
        self.max_bytes = max_bytes
        self._blocks: OrderedDict[bytes, Block] = OrderedDict()
        self._by_parent: dict[bytes, set[bytes]] = {}
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._blocks)

    def __contains__(self, block_hash: object) -> bool:
        return block_hash in self._blocks

    def add(self, block: Block) -> None:
        if block.hash in self._blocks or block.size > self.max_bytes:
            return
        self._blocks[block.hash] = block
        self._by_parent.setdefault(block.header.prev_hash, set()).add(block.hash)
        self._bytes += block.size
        while len(self._blocks) > self.max_blocks or self._bytes > self.max_bytes:
            oldest = next(iter(self._blocks))
            self._remove(oldest)

    def _remove(self, block_hash: bytes) -> Block:
        block = self._blocks.pop(block_hash)
        self._bytes -= block.size
        siblings = self._by_parent.get(block.header.prev_hash)
        if siblings is not None:
            siblings.discard(block_hash)
            if not siblings:
                del self._by_parent[block.header.prev_hash]
        return block

    def pop_children(self, parent_hash: bytes) -> list[Block]:
        """Remove and return the held blocks whose parent is ``parent_hash``."""
        return [self._remove(h) for h in sorted(self._by_parent.get(parent_hash, ()))]

    def roots(self) -> list[bytes]:
        """Parent hashes we are missing (to ask peers for)."""
        return [p for p in self._by_parent if p not in self._blocks]
