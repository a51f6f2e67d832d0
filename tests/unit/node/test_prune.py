"""Pruning (``--prune``, Core's ``-prune``): the oldest blocks and undo data go, the newest
``keep_blocks`` below the stored tip and genesis stay, the UTXO set is unchanged, reorgs within
the kept blocks work and those that would need pruned undo data are not taken."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from consensus.block import Block
from consensus.transaction import TxOut
from node.chain import ChainState
from node.chain_manual import ManualVerdictError, invalidate_block
from node.prune import Pruner, PruneSettings
from node.verify import PrunedDatabase, verify_datadir
from seedchain.cli import main
from tests.framework.factory import ChainBuilder, Key, spend
from tests.unit.node.test_api_support import live_api

NOW = 2_000_000_000
ALICE = Key.from_index(1)
TARGET = 6_000
KEEP = 10


def feed(chain: ChainState, blocks: list[Block]) -> None:
    for block in blocks:
        chain.accept_block(block, NOW)


def pruned_chain(path: Path, blocks: list[Block], keep: int = KEEP) -> ChainState:
    chain = ChainState.open(path, ChainBuilder().params)
    chain.pruner = Pruner(PruneSettings(TARGET, keep))
    feed(chain, blocks)
    return chain


def has_data(chain: ChainState, block: Block) -> bool:
    undo_row = chain.store.db.execute("SELECT 1 FROM undo WHERE hash = ?", (block.hash,))
    return chain.store.get_block(block.hash) is not None and undo_row.fetchone() is not None


def test_the_oldest_blocks_go_and_the_state_is_unchanged(tmp_path: Path) -> None:
    b = ChainBuilder()
    b.mine(101)
    pay = spend([(*b.coinbase_coin(1), b.miner_key)], [TxOut(10**9, ALICE.lock)])
    b.add(b.make_block([pay], extra_fee=4 * 10**9))
    b.mine(20)
    chain = pruned_chain(tmp_path / "pruned", b.blocks[1:])
    pruned = chain.pruned_height
    assert 0 < pruned <= chain.stored_tip.height - KEEP
    assert chain.store.stored_bytes() <= TARGET
    assert all(not has_data(chain, block) for block in b.blocks[1 : pruned + 1])
    assert all(has_data(chain, block) for block in b.blocks[pruned + 1 :])
    assert chain.store.get_block(b.blocks[0].hash) is not None  # genesis stays
    full = ChainState.open(tmp_path / "full", b.params)
    feed(full, b.blocks[1:])
    assert chain.utxo_hash() == full.utxo_hash() and chain.tip.hash == full.tip.hash
    full.close()
    chain.close()
    again = ChainState.open(tmp_path / "pruned", b.params)  # reopens cleanly, still pruned
    assert (again.pruned_height, again.tip.hash) == (pruned, b.tip.hash)
    assert again.get_block(b.blocks[pruned].hash) is None
    again.close()


def test_reorgs_within_the_kept_blocks_only(tmp_path: Path) -> None:
    a = ChainBuilder()
    a.mine(60)
    side = a.fork(1)  # a short, early branch: pruned with its heights
    side.miner_key = Key.from_index(8)
    side.mine(2)
    chain = ChainState.open(tmp_path, a.params)
    feed(chain, side.blocks[2:])
    chain.pruner = Pruner(PruneSettings(TARGET, KEEP))
    feed(chain, a.blocks[1:])
    pruned = chain.pruned_height
    assert pruned >= 3 and all(not has_data(chain, block) for block in side.blocks[2:])

    near = a.fork(57)  # forks above the pruned height: an ordinary reorg
    near.miner_key = ALICE
    near.mine(5)
    feed(chain, near.blocks[58:])
    assert chain.tip.hash == near.tip.hash

    far = a.fork(pruned - 1)  # more work, but taking it needs pruned undo data
    far.miner_key = Key.from_index(7)
    far.mine(80)
    feed(chain, far.blocks[pruned:])
    assert chain.tip.hash == near.tip.hash
    with pytest.raises(ManualVerdictError) as refused:
        invalidate_block(chain, a.blocks[pruned].hash)
    assert refused.value.code == "pruned"
    assert chain.tip.hash == near.tip.hash
    chain.close()


def test_verify_and_repair_refuse_a_pruned_datadir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = ChainBuilder()
    b.mine(80)
    chain = pruned_chain(tmp_path, b.blocks[1:])
    pruned = chain.pruned_height
    assert pruned > 0
    chain.close()
    with pytest.raises(PrunedDatabase, match=f"up to height {pruned}"):
        verify_datadir(tmp_path, b.params)
    argv = ["verify", "--network", "regtest", "--datadir", str(tmp_path), "--repair"]
    capsys.readouterr()  # only what the command writes
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the node pruned its blocks") and len(err.splitlines()) == 1
    with sqlite3.connect(tmp_path / "chain.sqlite") as db:  # --repair reset nothing
        assert db.execute("SELECT value FROM meta WHERE key = 'tip'").fetchone()[0] == b.tip.hash


def test_nothing_is_pruned_while_every_block_is_recent(tmp_path: Path) -> None:
    b = ChainBuilder()
    b.mine(90)
    chain = pruned_chain(tmp_path, b.blocks[1:], keep=100)
    assert chain.pruned_height == 0 and chain.store.stored_bytes() > TARGET
    chain.close()


async def test_a_pruned_node_through_its_api(tmp_path: Path) -> None:
    async with live_api(tmp_path, prune_bytes=TARGET, prune_keep_blocks=KEEP) as api:
        hashes = await api.generate(80)
        info = await api.get_json("/v1/chain")
        assert info["pruned"] is True and 0 < info["prune_height"] <= 80 - KEEP
        old, new = hashes[0], hashes[-1]
        for path in ("raw", "txids", "txs", "stats"):
            reply = await api.get(f"/v1/block/{old}/{path}")
            assert (reply.status, reply.error_code) == (404, "block_pruned"), path
            assert (await api.get(f"/v1/block/{new}/{path}")).status == 200, path
        metrics = (await api.get("/metrics")).text
        assert f"seedchain_pruned_height {float(info['prune_height'])}" in metrics
        assert await api.get_json("/v1/indexes") == {}  # Core: only the indexes that are on
        summary = await api.get_json(f"/v1/block/{old}")
        assert summary["height"] == 1 and summary["tx_count"] is None
        for path in (
            f"/v1/address/{ALICE.address()}",
            f"/v1/tx/{'00' * 32}",
            f"/v1/block/{new}/filter",
            f"/v1/block/{new}/filter-headers",
        ):
            reply = await api.get(path)
            assert (reply.status, reply.error_code) == (503, "index_disabled"), path
    async with live_api(tmp_path) as api:  # started again without --prune: still pruned
        info = await api.get_json("/v1/chain")
        assert info["pruned"] is True and info["prune_height"] > 0
        reply = await api.get(f"/v1/address/{ALICE.address()}")
        assert (reply.status, reply.error_code) == (503, "index_disabled")
    async with live_api(tmp_path / "full") as api:
        await api.generate(3)
        info = await api.get_json("/v1/chain")
        assert info["pruned"] is False and info["prune_height"] is None


def test_prune_to_a_height_now_keeps_the_newest(tmp_path: Path) -> None:
    b = ChainBuilder()
    b.mine(60)
    chain = ChainState.open(tmp_path, b.params)
    chain.pruner = Pruner(PruneSettings(10**12, KEEP))  # a target never reached
    feed(chain, b.blocks[1:])
    assert chain.pruned_height == 0
    chain.flush()
    result = chain.pruner.prune_to(chain, 20)
    assert result is not None and chain.pruned_height == 20 and result.blocks == 20
    assert not has_data(chain, b.blocks[20]) and has_data(chain, b.blocks[21])
    assert chain.pruner.prune_to(chain, 15) is None  # already pruned there
    chain.pruner.prune_to(chain, 10**6)
    assert chain.pruned_height == chain.stored_tip.height - KEEP
    chain.close()


async def test_pruneblockchain_through_the_api(tmp_path: Path) -> None:
    async with live_api(tmp_path, prune_bytes=10**12, prune_keep_blocks=KEEP) as api:
        hashes = await api.generate(40)
        body = {"height": 25}
        assert (await api.post("/v1/chain/prune", json=body)).status == 401
        reply = await api.post("/v1/chain/prune", json=body, headers=api.admin)
        assert (reply.status, reply.json()) == (200, {"pruned_height": 25}), reply.text
        gone = await api.get(f"/v1/block/{hashes[24]}/raw")
        assert (gone.status, gone.error_code) == (404, "block_pruned")
        assert (await api.get(f"/v1/block/{hashes[25]}/raw")).status == 200
        reply = await api.post("/v1/chain/prune", json={"height": 1000}, headers=api.admin)
        assert (reply.status, reply.error_code) == (400, "bad_height")
        reply = await api.post("/v1/chain/prune", json={"height": 40}, headers=api.admin)
        assert reply.json() == {"pruned_height": 40 - KEEP}
    async with live_api(tmp_path / "full") as api:
        reply = await api.post("/v1/chain/prune", json={"height": 0}, headers=api.admin)
        assert (reply.status, reply.error_code) == (409, "not_pruning")
