"""Accepting headers into the block tree (``ChainState.accept_headers``): each checked in order
(sanity, a known and valid parent, contextual rules), the new ones stored in one transaction.

May import consensus, node.blockindex, node.chain_types and the standard library (node.chain
only for typing). Module-level functions that take the ``node.chain.ChainState``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from consensus.block import BlockHeader
from consensus.block_rules import check_header_contextual, check_header_sanity
from consensus.errors import BadPrevBlock, KnownInvalidBlock
from node.blockindex import BlockStatus, ChainEntry
from node.chain_types import UnknownParent

if TYPE_CHECKING:
    from node.chain import ChainState


def accept_headers(chain: ChainState, headers: Iterable[BlockHeader], now: int) -> list[ChainEntry]:
    """Validate headers in order and store the new ones in one transaction. Raises the
    rule's error at the first bad one (the good ones before it are kept)."""
    accepted: list[ChainEntry] = []
    new: list[ChainEntry] = []
    try:
        for header in headers:
            entry = chain.entries.get(header.hash)
            if entry is None:
                entry = check_new_header(chain, header, now)
                chain.entries[entry.hash] = entry
                new.append(entry)
            elif entry.failed:
                raise KnownInvalidBlock(f"block {entry.hash_hex} is known to be invalid")
            accepted.append(entry)
    finally:
        if new:
            with chain.store.write():
                for entry in new:
                    chain.store.put_header(
                        entry.hash, entry.height, entry.header.encoded, int(entry.status), 0
                    )
    return accepted


def check_new_header(chain: ChainState, header: BlockHeader, now: int) -> ChainEntry:
    check_header_sanity(header, chain.params)
    parent = chain.entries.get(header.prev_hash)
    if parent is None:
        raise UnknownParent(
            f"parent {header.prev_hash[::-1].hex()} of {header.hash_hex} is unknown"
        )
    if parent.failed:
        raise BadPrevBlock(f"{header.hash_hex} builds on invalid {parent.hash_hex}")
    check_header_contextual(header, parent, now, chain.params)
    return ChainEntry(header, parent, BlockStatus.HEADER_VALID, 0)
