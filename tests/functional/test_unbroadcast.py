"""The node's own transactions keep being announced until a peer asks for one (Bitcoin Core's
unbroadcast set): one submitted while the node had no peers reaches a peer that connects later;
once a peer has fetched it, it is no longer re-announced; the set survives a clean restart in
mempool.dat."""

from __future__ import annotations

import asyncio

from consensus.transaction import Transaction
from node.txrelay import TxRelay
from p2p.messages import INV_TX, GetData, InvItem, TxMessage
from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork
from tests.framework.testnode import TestNode
from tests.framework.util import wait_until

REATTEMPT = 0.2  # seconds, instead of 10 minutes


def _relay(node: TestNode) -> TxRelay:
    assert node.node is not None and node.node.netsync is not None
    return node.node.netsync.txrelay


async def _node_with_own_tx(network: TestNetwork) -> tuple[TestNode, Transaction]:
    """A node with no peers, and a transaction submitted to it (announced to nobody)."""
    node = await network.add_node()
    wallet = MiniWallet()
    await wallet.generate(node, 101)
    tx = wallet.create_self_transfer(await node.height())
    await node.send_tx(tx)
    assert tx.txid in _relay(node).unbroadcast
    return node, tx


async def test_a_transaction_sent_without_peers_leaves_when_one_connects(
    network: TestNetwork,
) -> None:
    node, tx = await _node_with_own_tx(network)

    await node.restart()  # kept in mempool.dat
    await wait_until(
        lambda: tx.txid in _relay(node).unbroadcast, 30, message="unbroadcast set restored"
    )
    _relay(node).reattempt_interval = REATTEMPT
    peer = await network.add_p2p(node)
    await peer.wait_for_inv([tx.txid], timeout=10)
    await peer.send_message(GetData((InvItem(INV_TX, tx.txid),)))
    got = await peer.wait_for_message("tx", timeout=10)
    assert isinstance(got, TxMessage) and got.transaction.txid == tx.txid
    await wait_until(
        lambda: tx.txid not in _relay(node).unbroadcast, 10, message="fetched: not unbroadcast"
    )
    # Not announced again: a peer that connects now hears nothing of it, several reattempt
    # intervals later.
    late = await network.add_p2p(node)
    await asyncio.sleep(5 * REATTEMPT)
    await late.sync_with_ping()
    announced = {item.hash for message in late.received("inv") for item in message.items}
    assert tx.txid not in announced


async def test_a_transaction_no_longer_in_the_mempool_leaves_the_set(
    network: TestNetwork,
) -> None:
    node, tx = await _node_with_own_tx(network)
    _relay(node).reattempt_interval = REATTEMPT
    await node.generate(1)  # confirmed: nothing left to broadcast
    await wait_until(
        lambda: tx.txid not in _relay(node).unbroadcast, 10, message="confirmed: dropped"
    )
