"""An operator's verdicts (Core's invalidateblock / reconsiderblock) on the SQLite chain
state: moving off a block, onto the best valid branch, back again; across a restart and a
crash in the middle; and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus.block import Block
from node import chain_manual
from node.chain import ChainState, ChainUpdate
from node.chain_manual import ManualVerdictError, invalidate_block, reconsider_block
from node.verify import verify_datadir
from tests.framework.factory import ChainBuilder, Key

NOW = 2_000_000_000


def feed(chain: ChainState, blocks: list[Block]) -> None:
    for block in blocks:
        chain.accept_block(block, NOW)


def utxo_hash_at(tmp_path: Path, blocks: list[Block], params: object) -> bytes:
    """The UTXO set hash of a fresh chain fed ``blocks``."""
    fresh = ChainState.open(tmp_path, params)  # type: ignore[arg-type]
    try:
        feed(fresh, blocks)
        return fresh.utxo_hash()
    finally:
        fresh.close()


def two_branches() -> tuple[ChainBuilder, ChainBuilder]:
    """A: 5 blocks. B: 4 blocks forking at genesis (less work, so stored, not connected)."""
    a = ChainBuilder()
    a.mine(5)
    b = a.fork(0)
    b.miner_key = Key.from_index(9)
    b.mine(4)
    return a, b


def test_invalidate_moves_to_the_best_valid_branch_and_reconsider_returns(
    tmp_path: Path,
) -> None:
    a, b = two_branches()
    chain = ChainState.open(tmp_path / "chain", a.params)
    feed(chain, a.blocks[1:] + b.blocks[1:])
    assert chain.tip.hash == a.tip.hash
    updates: list[ChainUpdate] = []
    chain.listeners.append(updates.append)

    update = invalidate_block(chain, a.blocks[3].hash)  # A3: A1..A2 left, less work than B
    assert chain.tip.hash == b.tip.hash and chain.height == 4
    assert [blk.hash for blk, _ in update.disconnected] == [blk.hash for blk in a.blocks[5:0:-1]]
    assert [blk.hash for blk, _ in update.connected] == [blk.hash for blk in b.blocks[1:]]
    # the listeners heard two updates: off A3 and above, then the reorg from A2 onto B
    assert [(len(u.disconnected), len(u.connected)) for u in updates] == [(3, 0), (2, 4)]
    assert chain.utxo_hash() == utxo_hash_at(tmp_path / "b", b.blocks[1:], a.params)
    assert chain.entries[a.blocks[3].hash].failed and chain.entries[a.tip.hash].failed
    assert not chain.entries[a.blocks[2].hash].failed

    chain.close()  # the verdict is kept, and the database is consistent
    assert verify_datadir(tmp_path / "chain", a.params).height == 4
    chain = ChainState.open(tmp_path / "chain", a.params)
    assert chain.tip.hash == b.tip.hash and chain.entries[a.blocks[4].hash].failed

    update = reconsider_block(chain, a.blocks[4].hash)  # clears A3 (ancestor) and A5 too
    assert chain.tip.hash == a.tip.hash
    assert [blk.hash for blk, _ in update.connected] == [blk.hash for blk in a.blocks[1:]]
    assert not any(chain.entries[blk.hash].failed for blk in a.blocks)
    assert chain.utxo_hash() == utxo_hash_at(tmp_path / "a", a.blocks[1:], a.params)
    chain.close()


def test_invalidating_the_tip_without_a_fork_goes_back_one(tmp_path: Path) -> None:
    a, _ = two_branches()
    chain = ChainState.open(tmp_path / "chain", a.params)
    feed(chain, a.blocks[1:])
    invalidate_block(chain, a.tip.hash)
    assert chain.tip.hash == a.blocks[4].hash
    assert chain.utxo_hash() == utxo_hash_at(tmp_path / "four", a.blocks[1:5], a.params)
    invalidate_block(chain, a.blocks[2].hash)  # a block off the active chain: nothing moves
    assert chain.tip.hash == a.blocks[1].hash
    with pytest.raises(Exception, match="invalid"):
        chain.accept_block(a.blocks[3], NOW)  # a failed block is not taken again
    chain.close()


def test_a_crash_in_the_middle_of_an_invalidation_finishes_it_on_opening(tmp_path: Path) -> None:
    a, b = two_branches()
    chain = ChainState.open(tmp_path / "chain", a.params)
    feed(chain, a.blocks[1:] + b.blocks[1:])
    chain._mark_failed(chain.entries[a.blocks[2].hash])  # written, then the process died
    chain.store.close()
    reopened = ChainState.open(tmp_path / "chain", a.params)
    assert reopened.tip.hash == b.tip.hash
    assert reopened.utxo_hash() == utxo_hash_at(tmp_path / "b", b.blocks[1:], a.params)
    reopened.close()
    assert verify_datadir(tmp_path / "chain", a.params).height == 4


def test_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, _ = two_branches()
    chain = ChainState.open(tmp_path / "chain", a.params)
    feed(chain, a.blocks[1:])
    cases = [
        (a.params.genesis_hash, "genesis"),
        (b"\x42" * 32, "block_not_found"),
    ]
    for block_hash, code in cases:
        with pytest.raises(ManualVerdictError) as caught:
            invalidate_block(chain, block_hash)
        assert caught.value.code == code
    with pytest.raises(ManualVerdictError) as caught:
        reconsider_block(chain, b"\x42" * 32)
    assert caught.value.code == "block_not_found"
    monkeypatch.setattr(chain_manual, "MAX_INVALIDATE_DEPTH", 3)
    with pytest.raises(ManualVerdictError) as caught:
        invalidate_block(chain, a.blocks[2].hash)  # 4 blocks deep
    assert caught.value.code == "too_deep"
    assert chain.tip.hash == a.tip.hash and not chain.entries[a.blocks[2].hash].failed
    invalidate_block(chain, a.blocks[3].hash)  # 3 deep: allowed
    assert chain.tip.hash == a.blocks[2].hash
    chain.close()
