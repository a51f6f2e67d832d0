"""What a test can ask of a running node, implemented once over the in-process ``Node``.

``TestNode`` calls these directly for an in-process node; ``node_process`` (a node in a child
process) serves the same functions over a small HTTP control channel, so both kinds of
``TestNode`` have one API. Every access to the chain state and mempool goes through
``node.call`` (the chain thread). Hashes go out as display hex (``hash_to_hex``).

This module also holds ``TestNodeServer``: the node with test settings (no dialling from the
address book, shorter P2P deadlines) used by both kinds.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from consensus.addresses import address_to_lock
from consensus.assemble import solve_block
from consensus.block import Block
from consensus.hashing import hash_to_hex, hex_to_hash
from consensus.transaction import Transaction, TxOut
from node.config import NodeConfig
from node.server import Node
from node.template import make_template
from p2p.settings import ConnectionConfig, PeerSettings

# Deadlines for test networks: a handshake that never finishes is dropped after 3 s, a peer
# that stops answering pings after 10 s. Idle and ping timers stay long (tests are short).
TEST_PEER_SETTINGS = PeerSettings(
    handshake_timeout=3.0,
    ping_interval=60.0,
    pong_timeout=10.0,
    idle_timeout=180.0,
    send_timeout=20.0,
    write_timeout=30.0,
    close_timeout=1.0,
)


class TestNodeServer(Node):
    """``node.server.Node`` with test connection settings: peers come only from
    ``connect_nodes`` (or ``--peer``), never from address gossip, so a test's topology stays
    the one it made; deadlines from ``peer_settings``."""

    __test__ = False  # not a pytest test class

    def __init__(
        self, config: NodeConfig, *, peer_settings: PeerSettings = TEST_PEER_SETTINGS
    ) -> None:
        super().__init__(config)
        self.peer_settings = peer_settings

    def _connection_config(self) -> ConnectionConfig:
        base = super()._connection_config()
        return dataclasses.replace(
            base,
            dial_from_addrbook=False,
            peer=self.peer_settings,
            connect_timeout=5.0,
            retry_initial=0.2,
            retry_max=2.0,
        )


class NodeOps:
    """The test operations on one running in-process node."""

    def __init__(self, node: Node, tag: bytes = b"") -> None:
        self.node = node
        self.tag = tag  # in every coinbase this node mines: two nodes never mine the same block

    # --- chain and mempool --------------------------------------------------------------------
    async def height(self) -> int:
        return await self.node.call(lambda: self.node.chain.height)

    async def tip(self) -> str:
        return await self.node.call(lambda: self.node.chain.tip.hash_hex)

    async def best_block(self) -> tuple[int, str]:
        return await self.node.call(lambda: (self.node.chain.height, self.node.chain.tip.hash_hex))

    async def utxo_hash(self) -> str:
        return (await self.node.call(self.node.chain.utxo_hash)).hex()

    async def mempool_txids(self) -> list[str]:
        txids = await self.node.call(self.node.mempool.txids)
        return [hash_to_hex(t) for t in txids]

    async def mempool_size(self) -> int:
        return await self.node.call(lambda: len(self.node.mempool))

    async def block_hash(self, height: int) -> str | None:
        def find() -> str | None:
            entry = self.node.chain.entry_at(height)
            return None if entry is None else entry.hash_hex

        return await self.node.call(find)

    async def get_block(self, block_hash: str) -> Block | None:
        return await self.node.call(self.node.chain.get_block, hex_to_hash(block_hash))

    async def send_tx(self, tx: Transaction) -> dict[str, Any]:
        """Submit ``tx`` as a wallet would (it is announced to peers). Raises the consensus or
        mempool error of a refusal."""
        result = await self.node.submit_transaction(tx)
        return {
            "txid": hash_to_hex(result.txid),
            "orphan": result.orphan,
            "accepted": [hash_to_hex(t) for t in result.accepted],
        }

    async def send_txs(self, txs: Sequence[Transaction]) -> int:
        """Submit many transactions in one chain-thread call; returns how many were taken."""
        node = self.node
        now = int(time.time())

        def accept_all() -> list[bytes]:
            accepted: list[bytes] = []
            for tx in txs:
                accepted.extend(node.mempool.accept(tx, now).accepted)
            return accepted

        accepted = await node.call(accept_all)
        if node.netsync is not None:
            node.netsync.txrelay.announce_local(accepted)
        return len(accepted)

    async def submit_block(self, block: Block) -> str:
        result = await self.node.submit_block(block)
        return result.status

    async def submit_blocks(self, blocks: Sequence[Block]) -> int:
        """Accept ``blocks`` in order in one chain-thread call; returns the new height."""
        chain = self.node.chain

        def accept_all() -> int:
            for block in blocks:
                chain.accept_block(block, int(time.time()))
            return chain.height

        return await self.node.call(accept_all)

    async def generate(self, count: int, address: str) -> list[str]:
        """Mine ``count`` blocks on the tip now, paying ``address``, from the node's own block
        template (mempool transactions included); returns their hashes."""
        lock = address_to_lock(address, self.node.params.hrp)
        node = self.node

        def mine() -> list[str]:
            hashes = []
            for _ in range(count):
                now = int(time.time())
                policy = node.config.template_policy
                template = make_template(node.chain.tip, node.mempool, node.params, now, policy)
                candidate = template.block([TxOut(template.reward, lock)], tag=self.tag)
                block = solve_block(candidate)
                if block is None:  # regtest: every other nonce works, so never in practice
                    raise RuntimeError("no nonce found for a regtest block")
                node.chain.accept_block(block, now)
                hashes.append(block.hash_hex)
            return hashes

        return await node.call(mine)

    # --- network ------------------------------------------------------------------------------
    async def connect(self, address: str) -> int:
        """Dial ``address``, finish the handshake; returns our nonce of that connection."""
        assert self.node.connmgr is not None
        peer = await self.node.connmgr.connect(address)
        # A ping round trip: the other side has processed our verack (its on_peer_connected
        # ran) once the pong is back.
        await peer.ping(10.0)
        return peer.nonce

    async def peers(self) -> list[dict[str, Any]]:
        assert self.node.connmgr is not None
        return [
            {
                "address": p.address,
                "inbound": p.inbound,
                "nonce": p.nonce,
                "remote_nonce": p.remote_version.nonce if p.remote_version else None,
                "user_agent": p.remote_version_user_agent,
            }
            for p in self.node.connmgr.peers()
        ]

    async def close_peer(self, nonce: int) -> bool:
        """Close the connection whose local nonce is ``nonce``; False if there is none."""
        assert self.node.connmgr is not None
        for peer in list(self.node.connmgr.peers()):
            if peer.nonce == nonce:
                await peer.aclose()
                return True
        return False

    async def is_discouraged(self, address: str) -> bool:
        assert self.node.connmgr is not None
        return self.node.connmgr.is_discouraged(address)

    async def set_stall_timeout(self, seconds: float) -> None:
        assert self.node.netsync is not None
        self.node.netsync.stall_timeout = seconds

    async def sync_state(self) -> dict[str, Any]:
        """Numbers from the sync side: best header height, blocks in flight, peers known."""
        sync = self.node.netsync
        assert sync is not None
        return {
            "best_header_height": sync.best_header.height,
            "in_flight": len(sync.in_flight),
            "sync_peers": len(sync.peers),
            "blocks_received": sync.blocks_received,
            "txs_relayed": sync.txrelay.accepted,
            "txs_queued": sync.txrelay.queued,
        }
