"""Network helpers over ``TestNode``s (Bitcoin Core's ``connect_nodes``, ``sync_blocks``...),
and ``TestNetwork``: the set of nodes and scripted peers one test owns.

Connections are identified by the handshake nonces: the dialling side's ``nonce`` is the
``remote_nonce`` the other side recorded, so a link can be found and closed from either end.
Every wait is a polled condition with a deadline (``util.wait_until``).
"""

# The Bitcoin Core-style API takes explicit deadlines (``timeout=``) on purpose.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar, overload

from tests.framework.p2p_interface import P2PInterface
from tests.framework.testnode import TestNode
from tests.framework.util import wait_until

Link = tuple[TestNode, TestNode]
PeerT = TypeVar("PeerT", bound=P2PInterface)


async def connect_nodes(a: TestNode, b: TestNode) -> None:
    """``a`` dials ``b``; returns once both sides have the connection (a ping round trip)."""
    await a.connect(b.p2p_address)


async def _links(a: TestNode, b: TestNode) -> list[tuple[TestNode, int]]:
    """The connections between ``a`` and ``b``, each as (side that dialled, its nonce)."""
    a_peers, b_peers = await asyncio.gather(a.peer_info(), b.peer_info())
    a_out = {p["nonce"] for p in a_peers if not p["inbound"]}
    b_out = {p["nonce"] for p in b_peers if not p["inbound"]}
    b_in = {p["remote_nonce"] for p in b_peers if p["inbound"]}
    a_in = {p["remote_nonce"] for p in a_peers if p["inbound"]}
    return [(a, n) for n in a_out & b_in] + [(b, n) for n in b_out & a_in]


async def connected(a: TestNode, b: TestNode) -> bool:
    return bool(await _links(a, b))


async def disconnect_nodes(a: TestNode, b: TestNode, timeout: float = 10.0) -> None:
    """Close every connection between ``a`` and ``b`` and wait until neither side has one."""
    for dialler, nonce in await _links(a, b):
        await dialler.close_peer(nonce)

    async def gone() -> bool:
        a_peers, b_peers = await asyncio.gather(a.peer_info(), b.peer_info())
        a_nonces = {p["nonce"] for p in a_peers} | {p["remote_nonce"] for p in a_peers}
        return not any(
            p["nonce"] in a_nonces or p["remote_nonce"] in a_nonces for p in b_peers
        )

    await wait_until(gone, timeout, message=f"{a.name} and {b.name} disconnected")


async def split_network(groups: Sequence[Sequence[TestNode]], timeout: float = 10.0) -> list[Link]:
    """Cut every connection between nodes of different ``groups``; returns the links cut (each
    as (dialler, listener)) for ``join_network``."""
    cut: list[Link] = []
    for i, group in enumerate(groups):
        for other in groups[i + 1 :]:
            for a in group:
                for b in other:
                    for dialler, _ in await _links(a, b):
                        cut.append((dialler, b if dialler is a else a))
                    await disconnect_nodes(a, b, timeout)
    return cut


async def join_network(links: Iterable[Link]) -> None:
    """Connect each (dialler, listener) pair, e.g. the links ``split_network`` cut."""
    for a, b in links:
        await connect_nodes(a, b)


async def sync_blocks(nodes: Sequence[TestNode], timeout: float = 30.0) -> str:
    """Wait until every node has the same tip; returns it."""
    tips: list[tuple[int, str]] = []

    async def same_tip() -> bool:
        nonlocal tips
        tips = list(await asyncio.gather(*(n.best_block() for n in nodes)))
        return len({t for _, t in tips}) == 1

    await wait_until(
        same_tip, timeout, interval=0.05,
        message=lambda: "sync_blocks: " + ", ".join(
            f"{n.name}={h}:{t[:12]}" for n, (h, t) in zip(nodes, tips, strict=False)),
    )
    return tips[0][1]


async def sync_mempools(nodes: Sequence[TestNode], timeout: float = 30.0) -> set[str]:
    """Wait until every node's mempool holds the same transactions; returns their txids."""
    pools: list[set[str]] = []

    async def same_pool() -> bool:
        nonlocal pools
        pools = list(await asyncio.gather(*(n.mempool_txids() for n in nodes)))
        return all(p == pools[0] for p in pools)

    await wait_until(
        same_pool, timeout, interval=0.05,
        message=lambda: "sync_mempools: " + ", ".join(
            f"{n.name}={len(p)}" for n, p in zip(nodes, pools, strict=False)),
    )
    return pools[0]


def random_connected_graph(n: int, extra_edges: int, rng: random.Random) -> list[tuple[int, int]]:
    """Edges (dialler, listener) of a random connected graph on ``n`` nodes: a random spanning
    tree plus ``extra_edges`` more distinct edges."""
    order = list(range(n))
    rng.shuffle(order)
    edges = {(order[i], order[rng.randrange(i)]) for i in range(1, n)}
    pairs = {frozenset(e) for e in edges}
    while len(edges) < n - 1 + extra_edges and len(pairs) < n * (n - 1) // 2:
        a, b = rng.sample(range(n), 2)
        if frozenset((a, b)) not in pairs:
            pairs.add(frozenset((a, b)))
            edges.add((a, b))
    return sorted(edges)


class TestNetwork:
    """The nodes and scripted peers of one test: made by ``add_nodes`` / ``add_p2p``, all
    stopped by ``aclose()`` (the ``network`` fixture does it)."""

    __test__ = False

    def __init__(self, basedir: Path) -> None:
        self.basedir = Path(basedir)
        self.nodes: list[TestNode] = []
        self.p2p_peers: list[P2PInterface] = []

    async def add_nodes(self, count: int, *, start: bool = True, **kwargs: Any) -> list[TestNode]:
        """``count`` new nodes (``TestNode`` keyword arguments apply to each), started
        concurrently unless ``start=False``."""
        made = []
        for _ in range(count):
            index = len(self.nodes)
            node = TestNode(index, self.basedir / f"node{index}", **kwargs)
            self.nodes.append(node)
            made.append(node)
        if start:
            await asyncio.gather(*(n.start() for n in made))
        return made

    async def add_node(self, **kwargs: Any) -> TestNode:
        return (await self.add_nodes(1, **kwargs))[0]

    @overload
    async def add_p2p(
        self, node: TestNode, peer: None = None, **connect_kwargs: Any
    ) -> P2PInterface: ...

    @overload
    async def add_p2p(self, node: TestNode, peer: PeerT, **connect_kwargs: Any) -> PeerT: ...

    async def add_p2p(
        self, node: TestNode, peer: P2PInterface | None = None, **connect_kwargs: Any
    ) -> P2PInterface:
        """Connect a scripted peer (a new ``P2PInterface`` if none given) to ``node``."""
        peer = peer or P2PInterface()
        self.p2p_peers.append(peer)
        await peer.connect(node.p2p_address, **connect_kwargs)
        return peer

    async def connect_line(self, nodes: Sequence[TestNode]) -> None:
        """node i dials node i+1."""
        for a, b in pairwise(nodes):
            await connect_nodes(a, b)

    async def aclose(self) -> None:
        for peer in self.p2p_peers:
            await peer.close()
        await asyncio.gather(*(n.stop() for n in self.nodes), return_exceptions=True)
