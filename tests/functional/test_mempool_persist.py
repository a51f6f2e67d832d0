"""The mempool across restarts, as Bitcoin Core's -persistmempool: a clean stop (in process, and
SIGTERM to a daemon) saves it and the next start offers it again; a SIGKILL leaves the file of
the last clean stop, which loads without harm; a damaged file is logged and ignored; with
``--no-persist-mempool`` nothing is saved or loaded."""

# The Bitcoin Core-style API takes explicit deadlines (``timeout=``) on purpose.
# ruff: noqa: ASYNC109

from __future__ import annotations

from typing import Any

import pytest

from consensus.transaction import Transaction
from node import persist
from node.persist import FEE_ESTIMATES_FILE, MEMPOOL_FILE
from tests.framework.miniwallet import MiniWallet
from tests.framework.network import TestNetwork
from tests.framework.testnode import TestNode
from tests.framework.util import wait_until


async def _fill(node: TestNode, wallet: MiniWallet, chains: int, depth: int) -> set[str]:
    """``chains`` chains of ``depth`` unconfirmed transactions each, sent to ``node``."""
    height = await node.height()
    txs: list[Transaction] = []
    for coin in wallet.spendable(height)[:chains]:
        utxo = coin
        for _ in range(depth):
            txs.append(wallet.create_self_transfer(height, utxo=utxo, fee=2_000))
            utxo = wallet.utxos[-1]
    for tx in txs:
        await node.send_tx(tx)
    return {tx.txid_hex for tx in txs}


async def _wait_loaded(node: TestNode) -> None:
    """Until the in-process node has offered its saved mempool again: only then does a stop
    save the mempool (Core's rule), so a test that sends and restarts must wait for it."""

    def loaded() -> bool:
        return node.node is not None and node.node.keeper.loaded

    await wait_until(loaded, 30, message=f"{node.name} loaded its saved mempool")


async def _wait_mempool(node: TestNode, txids: set[str], timeout: float = 30) -> None:
    async def loaded() -> bool:
        return await node.mempool_txids() == txids

    await wait_until(loaded, timeout, message=f"{node.name} mempool is the saved one")


async def _started(
    network: TestNetwork, chains: int, depth: int, **node_args: Any
) -> tuple[TestNode, MiniWallet, set[str]]:
    """A node with coins for a wallet and ``chains`` x ``depth`` transactions in its mempool."""
    node = await network.add_node(**node_args)
    wallet = MiniWallet()
    await wallet.generate(node, 110)
    txids = await _fill(node, wallet, chains, depth)
    return node, wallet, txids


async def test_clean_restart_keeps_the_mempool(network: TestNetwork) -> None:
    node, _, txids = await _started(network, chains=5, depth=4)
    await node.restart()
    assert (node.datadir / MEMPOOL_FILE).exists()
    assert (node.datadir / FEE_ESTIMATES_FILE).exists()
    await _wait_loaded(node)
    await _wait_mempool(node, txids)
    # Mining confirms them; the next restart brings back an empty mempool.
    await node.generate(1)
    assert await node.mempool_size() == 0
    await node.restart()
    await _wait_mempool(node, set())


async def test_damaged_file_is_ignored_and_replaced(network: TestNetwork) -> None:
    node, wallet, _ = await _started(network, chains=2, depth=2)
    await node.stop()
    path = node.datadir / MEMPOOL_FILE
    path.write_bytes(path.read_bytes()[:-7])  # truncated
    await node.start()
    await _wait_loaded(node)
    await _wait_mempool(node, set())
    txids = await _fill(node, wallet, chains=1, depth=1)
    await node.restart()
    await _wait_mempool(node, txids)


async def test_no_persist_mempool_saves_and_loads_nothing(network: TestNetwork) -> None:
    node, _, _ = await _started(network, chains=2, depth=1, persist_mempool=False)
    await node.restart()
    assert not (node.datadir / MEMPOOL_FILE).exists()
    await _wait_mempool(node, set())


async def test_daemon_sigterm_saves_and_sigkill_keeps_the_last_file(
    network: TestNetwork,
) -> None:
    node, wallet, first = await _started(network, chains=2, depth=2, mode="process")
    await node.restart()  # SIGTERM, then start again
    await _wait_mempool(node, first)
    later = await _fill(node, wallet, chains=1, depth=1)
    await node.kill()  # SIGKILL: nothing saved; mempool.dat is the one of the clean stop
    await node.start()
    await _wait_mempool(node, first)
    assert not later & await node.mempool_txids()


async def test_a_fault_while_restoring_does_not_stop_the_node(
    network: TestNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    node, wallet, _ = await _started(network, chains=1, depth=2)

    def broken(*_: object) -> list[bytes]:
        raise RuntimeError("a bug while restoring")

    monkeypatch.setattr(persist, "restore_chunk", broken)
    await node.restart()
    await _wait_loaded(node)
    await _wait_mempool(node, set())  # logged (mempool_load_failed); the node goes on
    monkeypatch.undo()
    later = await _fill(node, wallet, chains=1, depth=1)
    await node.restart()  # the file is saved again: this run counts as loaded
    await _wait_mempool(node, later)
    node.check_alive()
