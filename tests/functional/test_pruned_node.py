"""A pruned node on the network: it syncs from a full node, keeps the same UTXO set with a
fraction of the blocks, and a newcomer that asks it for pruned blocks gets ``notfound`` and
fetches them from a full node instead."""

from __future__ import annotations

from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork, connect_nodes, sync_blocks

PRUNED = {"prune_bytes": 8_000, "prune_keep_blocks": 10}


async def test_a_pruned_node_syncs_and_a_newcomer_finds_old_blocks_elsewhere(
    network: TestNetwork,
) -> None:
    full = await network.add_node()
    pruned = await network.add_node(config_overrides=PRUNED)
    wallet = MiniWallet()
    await wallet.generate(full, 101)
    tx = wallet.create_self_transfer(await full.height())
    await full.send_tx(tx)
    await full.generate(60)
    await connect_nodes(pruned, full)
    await sync_blocks([full, pruned])
    # A sync connects blocks in large batches whose coins wait in the cache; pruning follows
    # the flush, which the next single block brings.
    await full.generate(1)
    tip = await sync_blocks([full, pruned])
    assert await pruned.utxo_hash() == await full.utxo_hash()
    server = pruned.node
    assert server is not None
    pruned_height = await pruned.call(lambda: server.chain.pruned_height)
    assert 0 < pruned_height <= 162 - 10
    assert await pruned.get_block(await pruned.block_hash(1) or "") is None
    assert await pruned.get_block(tip) is not None

    newcomer = await network.add_node()
    await connect_nodes(newcomer, pruned)  # headers from it, but not the old blocks
    await connect_nodes(newcomer, full)
    assert await sync_blocks([full, pruned, newcomer], timeout=60) == tip
    assert await newcomer.utxo_hash() == await full.utxo_hash()
