"""A network partition: five nodes in a line are split into three and two; each side mines
(the larger side more work) and takes its own transactions; then the halves are joined.

Every node must end on the most-work tip with the same UTXO set, and no transaction may be
lost: what only the losing side confirmed is back in a mempool (and relayed again), what
both sides confirmed stays confirmed, what only the winning side confirmed stays confirmed,
and a transaction only the losing side had in its mempool is still there.
"""

from __future__ import annotations

from tests.framework.miniwallet import MiniWallet
from tests.framework.network import (
    TestNetwork,
    join_network,
    split_network,
    sync_blocks,
    sync_mempools,
)
from tests.framework.util import wait_until


async def test_partition_then_join_converges_on_most_work(network: TestNetwork) -> None:
    nodes = await network.add_nodes(5)
    await network.connect_line(nodes)
    big, small = nodes[:3], nodes[3:]

    wallet = MiniWallet()
    await wallet.generate(nodes[0], 110)  # ten mature coinbases
    await sync_blocks(nodes)
    height = await nodes[0].height()

    links = await split_network([big, small])
    assert len(links) == 1  # the line had one edge between the halves

    # Transactions made during the split, from distinct coins (no double spends).
    lose_confirmed = wallet.create_self_transfer(height)  # mined only by the small side
    lose_pending = wallet.create_self_transfer(height)  # only in the small side's mempool
    win_confirmed = wallet.create_self_transfer(height)  # mined only by the big side
    both = wallet.create_self_transfer(height)  # mined by both sides

    await small[0].send_tx(lose_confirmed)
    await small[0].send_tx(both)
    await sync_mempools(small)
    await small[1].generate(2)
    await small[0].send_tx(lose_pending)
    await sync_blocks(small)
    await sync_mempools(small)

    await big[0].send_tx(win_confirmed)
    await big[0].send_tx(both)
    await sync_mempools(big)
    winning = await big[2].generate(5)
    await sync_blocks(big)
    assert await small[0].height() == height + 2

    await join_network(links)
    tip = await sync_blocks(nodes, timeout=30)
    assert tip == winning[-1]
    assert len({await n.utxo_hash() for n in nodes}) == 1

    # Confirmed on the winning chain: on every node's active chain, in no mempool.
    confirmed = set()
    for h in range(height + 1, height + 6):
        block = await nodes[4].get_block(await nodes[4].block_hash(h) or "")
        assert block is not None
        confirmed |= {tx.txid_hex for tx in block.transactions[1:]}
    assert confirmed == {win_confirmed.txid_hex, both.txid_hex}

    # Nothing is lost. The losing side's confirmed transaction is back in its mempools and
    # announced again, so it reaches every node; the one it only had in its mempool is still
    # there (mempools are not exchanged on connect, as in Bitcoin Core).
    for node in small:
        assert {lose_confirmed.txid_hex, lose_pending.txid_hex} <= await node.mempool_txids()

    async def relayed() -> bool:
        pools = [await n.mempool_txids() for n in nodes]
        return all(lose_confirmed.txid_hex in pool for pool in pools)

    await wait_until(relayed, 20, message="returned transaction relayed to every node")
    for node in big:
        assert await node.mempool_txids() == {lose_confirmed.txid_hex}

    # A block mined on the (former) losing side now confirms both, and every node takes it.
    (last,) = await small[1].generate(1)
    assert await sync_blocks(nodes) == last
    block = await nodes[0].get_block(last)
    assert block is not None
    assert {tx.txid_hex for tx in block.transactions[1:]} == {
        lose_confirmed.txid_hex,
        lose_pending.txid_hex,
    }
    for node in nodes:
        assert await node.mempool_txids() == set()
    assert len({await n.utxo_hash() for n in nodes}) == 1
