"""The in-memory block index: one ``ChainEntry`` per known header, with cumulative work,
status flags and the links the chain needs to choose and walk branches.

May import consensus and stdlib. Pure bookkeeping: storage and validation live in node.chain.
"""

from __future__ import annotations

from consensus.block import BlockHeader
from consensus.block_rules import median_time
from consensus.pow import block_work


class BlockStatus:
    """Bit flags of ``ChainEntry.status`` (plain ints: the download scheduler tests them for
    every block of its window, and ``enum.IntFlag`` arithmetic costs a microsecond a time)."""

    HEADER_VALID = 0
    HAVE_DATA = 1  # the body is stored and passed sanity and contextual checks
    VALID = 2  # connected at least once: every rule including signatures passed
    FAILED = 4  # breaks a rule: never validated again
    FAILED_CHILD = 8  # descends from a FAILED block
    ANY_FAILED = FAILED | FAILED_CHILD


class ChainEntry:
    """A header's place in the block tree. Satisfies ``consensus.block_rules.ParentInfo``."""

    __slots__ = (
        "chainwork",
        "children",
        "hash",
        "have_chain_data",
        "header",
        "height",
        "median_time_past",
        "parent",
        "seq",
        "status",
    )

    def __init__(
        self, header: BlockHeader, parent: ChainEntry | None, status: int, seq: int
    ) -> None:
        self.header = header
        self.hash = header.hash
        self.parent = parent
        self.height: int = 0 if parent is None else parent.height + 1
        self.chainwork: int = block_work(header.bits) + (0 if parent is None else parent.chainwork)
        self.status: int = status
        self.seq = seq  # order in which block data arrived: first seen wins ties
        self.children: list[ChainEntry] = []
        self.have_chain_data = False  # this and every ancestor have data
        times = [header.time]
        walker = parent
        while walker is not None and len(times) < 11:
            times.append(walker.header.time)
            walker = walker.parent
        self.median_time_past = median_time(times)
        if parent is not None:
            parent.children.append(self)

    @property
    def failed(self) -> bool:
        return bool(self.status & BlockStatus.ANY_FAILED)

    @property
    def time(self) -> int:
        return self.header.time

    @property
    def hash_hex(self) -> str:
        return self.hash[::-1].hex()

    def ancestor(self, height: int) -> ChainEntry:
        """The ancestor at ``height`` (``self`` when equal); walks parent links."""
        if not 0 <= height <= self.height:
            raise ValueError(f"no ancestor at height {height} of a block at {self.height}")
        walker = self
        while walker.height > height:
            assert walker.parent is not None
            walker = walker.parent
        return walker

    def path_from(self, height: int) -> list[ChainEntry]:
        """The ancestors from ``height`` up to ``self``, oldest first, in one walk."""
        path: list[ChainEntry] = []
        walker: ChainEntry | None = self
        while walker is not None and walker.height >= height:
            path.append(walker)
            walker = walker.parent
        path.reverse()
        return path

    def descendants(self) -> list[ChainEntry]:
        found: list[ChainEntry] = []
        stack = list(self.children)
        while stack:
            entry = stack.pop()
            found.append(entry)
            stack.extend(entry.children)
        return found

    def __repr__(self) -> str:
        return f"ChainEntry(height={self.height}, hash={self.hash_hex}, status={self.status})"


def find_fork(a: ChainEntry, b: ChainEntry) -> ChainEntry:
    """The last common ancestor of two entries."""
    if a.height > b.height:
        a = a.ancestor(b.height)
    elif b.height > a.height:
        b = b.ancestor(a.height)
    while a is not b:
        assert a.parent is not None and b.parent is not None, "entries from different trees"
        a, b = a.parent, b.parent
    return a


def better(candidate: ChainEntry, than: ChainEntry) -> bool:
    """Most work wins; at equal work the block whose data arrived first wins."""
    if candidate.chainwork != than.chainwork:
        return candidate.chainwork > than.chainwork
    return candidate.seq < than.seq


def block_locator(entry: ChainEntry) -> list[bytes]:
    """A block locator: the hashes of ``entry`` and its last 9 ancestors, then exponentially
    sparser ones, then genesis; found in one walk down the parent links."""
    heights = []
    step, height = 1, entry.height
    while True:
        heights.append(height)
        if height == 0:
            break
        if len(heights) >= 10:
            step *= 2
        height = max(0, height - step)
    hashes = []
    walker: ChainEntry | None = entry
    for wanted in heights:
        while walker is not None and walker.height > wanted:
            walker = walker.parent
        assert walker is not None
        hashes.append(walker.hash)
    return hashes
