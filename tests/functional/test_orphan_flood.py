"""A peer flooding the orphan pool (transactions whose parents do not exist) evicts only its own
orphans: an honest peer's orphan, older than all of them, stays and goes into the mempool when
its parent arrives; when the flooder disconnects its orphans are forgotten. As Bitcoin Core's
orphanage since v29 (per-peer eviction) and ``EraseForPeer``."""

from __future__ import annotations

import hashlib

from consensus.params import REGTEST
from consensus.transaction import OutPoint, TxOut
from node.mempool_policy import MempoolPolicy
from p2p.messages import TxMessage
from tests.framework.factory import Key, spend
from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork
from tests.framework.p2p_interface import P2PInterface
from tests.framework.testnode import TestNode
from tests.framework.util import wait_until

MAX_ORPHANS = MempoolPolicy().max_orphans


async def _orphans(node: TestNode) -> list[bytes]:
    assert node.node is not None
    orphans = node.node.mempool.orphans
    txids: list[bytes] = await node.call(orphans.txids)
    return txids


async def _settled(node: TestNode) -> None:
    async def idle() -> bool:
        queued: int = (await node.sync_state())["txs_queued"]
        return queued == 0

    await wait_until(idle, 30, message="every received transaction validated")


async def test_orphan_flood_evicts_the_flooders_own(network: TestNetwork) -> None:
    node = await network.add_node()
    wallet = MiniWallet()
    await wallet.generate(node, 105)
    height = await node.height()
    parent = wallet.create_self_transfer(height)
    child = wallet.create_self_transfer(height, utxo=wallet.utxos[-1])

    honest = await network.add_p2p(node)
    await honest.send_message(TxMessage(child))  # the child first: an orphan
    await honest.wait_for_getdata([parent.txid], timeout=10)

    flooder = P2PInterface(local_host="127.0.0.66")
    network.p2p_peers.append(flooder)
    await flooder.connect(node.p2p_address)
    key = Key.from_index(66)
    for i in range(2 * MAX_ORPHANS + 50):
        missing = OutPoint(hashlib.sha256(b"no such parent %d" % i).digest(), 0)
        tx = spend([(missing, TxOut(10**6, key.lock), key)], [TxOut(10**6 - 2_000, key.lock)],
                   REGTEST)  # fmt: skip
        await flooder.send_message(TxMessage(tx))
    await flooder.sync_with_ping()
    await _settled(node)
    held = await _orphans(node)
    assert len(held) == MAX_ORPHANS
    assert child.txid in held  # the oldest orphan, yet not evicted
    assert flooder.is_connected  # orphans are no misbehaviour

    await honest.send_message(TxMessage(parent))

    async def both_in() -> bool:
        return {parent.txid_hex, child.txid_hex} <= await node.mempool_txids()

    await wait_until(both_in, 10, message="the honest orphan resolved")

    await flooder.close()

    async def forgotten() -> bool:
        return await _orphans(node) == []

    await wait_until(forgotten, 10, message="the flooder's orphans forgotten")
    assert honest.is_connected
