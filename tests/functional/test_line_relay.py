"""Three nodes in a line: a transaction sent to the first reaches the last one's mempool, and
a block mined at the last reaches the first."""

from __future__ import annotations

from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork, sync_blocks, sync_mempools


async def test_transaction_and_block_cross_a_line_of_three(network: TestNetwork) -> None:
    nodes = await network.add_nodes(3)
    first, _middle, last = nodes
    await network.connect_line(nodes)  # first -> middle -> last; first and last never meet
    assert await first.peer_count() == 1 and await last.peer_count() == 1

    wallet = MiniWallet()
    await wallet.generate(first, 101)
    await sync_blocks(nodes)

    # A chain of two transactions (the child spends the parent) sent to the first node.
    parent = wallet.create_self_transfer(await first.height(), outputs=2)
    await first.send_tx(parent)
    child = wallet.create_self_transfer(await first.height(), utxo=wallet.utxos[-1])
    await first.send_tx(child)
    pool = await sync_mempools(nodes)
    assert pool == {parent.txid_hex, child.txid_hex}
    assert child.txid_hex in await last.mempool_txids()

    # A block mined at the last node confirms both and reaches the first.
    (block_hash,) = await last.generate(1)
    assert await sync_blocks(nodes) == block_hash
    assert await first.tip() == block_hash
    block = await first.get_block(block_hash)
    assert block is not None
    assert {tx.txid_hex for tx in block.transactions[1:]} == {parent.txid_hex, child.txid_hex}
    for node in nodes:
        assert await node.mempool_txids() == set()
    hashes = {await n.utxo_hash() for n in nodes}
    assert len(hashes) == 1
