"""Transaction relay from a scripted peer: a stream of transactions is validated in batches
and relayed; an orphan's missing parent is asked of the peer that sent it; an invalid
transaction in the middle of a stream gets its sender dropped while the valid ones before it
are kept and relayed."""

# The Bitcoin Core-style API takes explicit deadlines (``timeout=``) on purpose.
# ruff: noqa: ASYNC109

from __future__ import annotations

from consensus.hashing import hex_to_hash
from p2p.messages import TxMessage
from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork, connect_nodes, sync_blocks, sync_mempools
from tests.framework.p2p_interface import P2PInterface
from tests.framework.testnode import TestNode
from tests.framework.util import wait_until


async def wait_for_mempool(node: TestNode, txids: set[str], timeout: float = 30) -> None:
    async def holds_all() -> bool:
        return txids <= await node.mempool_txids()

    await wait_until(holds_all, timeout, message=f"{node.name} mempool holds {len(txids)} txs")


async def test_stream_orphan_and_invalid(network: TestNetwork) -> None:
    node0, node1 = await network.add_nodes(2)
    await connect_nodes(node0, node1)
    wallet = MiniWallet()
    await wallet.generate(node0, 130)  # 30 mature coinbases
    await sync_blocks([node0, node1])
    height = await node0.height()

    # A stream of 600 transactions (more than one validation batch): 30 coins, each spent
    # into a chain of 20.
    stream = []
    for coin in wallet.spendable(height):
        utxo = coin
        for _ in range(20):
            tx = wallet.create_self_transfer(height, utxo=utxo, fee=1_000)
            stream.append(tx)
            utxo = wallet.utxos[-1]
    peer = await network.add_p2p(node0)
    for tx in stream:
        await peer.send_message(TxMessage(tx))
    expected = {tx.txid_hex for tx in stream}
    await wait_for_mempool(node1, expected)
    assert await sync_mempools([node0, node1]) == expected

    # An orphan: the child first. The node asks this peer for the missing parent.
    parent = wallet.create_self_transfer(height, utxo=wallet.utxos[-1])
    child = wallet.create_self_transfer(height, utxo=wallet.utxos[-1])
    await peer.send_message(TxMessage(child))
    await peer.wait_for_getdata([parent.txid], timeout=10)
    await peer.send_message(TxMessage(parent))
    expected |= {parent.txid_hex, child.txid_hex}
    await wait_for_mempool(node1, expected)
    assert await sync_mempools([node0, node1]) == expected

    # Good, bad, good: the sender is dropped and discouraged; the first good one stays.
    good = wallet.create_self_transfer(height, utxo=wallet.utxos[-1])
    bad = wallet.create_bad_signature(height)
    hostile = P2PInterface(local_host="127.0.0.77")
    network.p2p_peers.append(hostile)
    await hostile.connect(node0.p2p_address)
    await hostile.send_message(TxMessage(good))
    await hostile.send_message(TxMessage(bad))
    await hostile.wait_for_disconnect()
    assert hostile.close_reason == "misbehaving"
    assert await node0.is_discouraged("127.0.0.77:1")

    async def good_relayed() -> bool:
        return good.txid_hex in await node1.mempool_txids()

    await wait_until(good_relayed, 10, message="the good transaction relayed")
    assert bad.txid_hex not in await node0.mempool_txids()
    assert (await node0.sync_state())["txs_queued"] == 0
    assert peer.is_connected
    assert hex_to_hash(good.txid_hex) == good.txid
