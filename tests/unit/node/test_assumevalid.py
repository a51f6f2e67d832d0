"""``--assume-valid`` (``node.assumevalid``, Core's ``-assumevalid``): the ancestors of the named
block, far enough below it, connect without their signatures being checked (so a bad one there
goes through, as the operator vouched for it); nearer ones, other branches and everything
without the option are checked in full."""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus.params import REGTEST
from consensus.transaction import TxOut
from node.assumevalid import TWO_WEEKS, AssumeValid
from node.chain import ChainState
from node.config import ConfigError, parse_assume_valid
from tests.framework.factory import ChainBuilder, Key, spend

NOW = 2_000_000_000
ALICE = Key.from_index(1)


def chain_with_a_bad_signature() -> ChainBuilder:
    """101 blocks, then 10 spending blocks; block 107's signature has one bit flipped."""
    b = ChainBuilder()
    b.mine(101)
    for h in range(1, 11):
        tx = spend([(*b.coinbase_coin(h), b.miner_key)], [TxOut(10**9, ALICE.lock)])
        if h == 6:
            w = tx.witnesses[0]
            bad = bytes([w.signature[0] ^ 1]) + w.signature[1:]
            tx = tx.with_witnesses((w._replace(signature=bad),))
        b.blocks.append(b.make_block([tx], extra_fee=4 * 10**9))
    return b


def sync(tmp_path: Path, b: ChainBuilder, assume_valid: AssumeValid | None) -> ChainState:
    state = ChainState.open(tmp_path, b.params, assume_valid=assume_valid)
    for block in b.blocks[1:]:
        state.accept_block(block, NOW, activate=False)
    state.activate_best_chain()
    return state


def blocks_margin(blocks: int) -> int:
    return blocks * REGTEST.spacing


def test_a_vouched_for_block_is_connected_without_its_signatures(tmp_path: Path) -> None:
    b = chain_with_a_bad_signature()
    named = b.blocks[111].hash
    state = sync(tmp_path / "vouched", b, AssumeValid(named, REGTEST.spacing, blocks_margin(4)))
    assert state.height == 111  # block 107 is 4 blocks of work below the named block
    state.close()

    # the same chain without the option stops before the bad block
    state = sync(tmp_path / "plain", b, None)
    assert state.height == 106 and state.entries[b.blocks[107].hash].failed
    state.close()


def test_blocks_too_near_the_named_one_are_checked(tmp_path: Path) -> None:
    b = chain_with_a_bad_signature()
    named = b.blocks[111].hash
    state = sync(tmp_path, b, AssumeValid(named, REGTEST.spacing, blocks_margin(5)))
    assert state.height == 106  # 107 is only 4 blocks below: verified, and refused
    state.close()


def test_an_unknown_block_or_another_branch_vouches_for_nothing(tmp_path: Path) -> None:
    b = chain_with_a_bad_signature()
    unknown = AssumeValid(bytes(32), REGTEST.spacing, blocks_margin(1))
    state = sync(tmp_path / "unknown", b, unknown)
    assert state.height == 106
    state.close()

    other = ChainBuilder()  # the same 101 blocks, then another branch: 107 is not below it
    other.mine(120)
    side = AssumeValid(other.blocks[120].hash, REGTEST.spacing, blocks_margin(1))
    state = ChainState.open(tmp_path / "side", b.params, assume_valid=side)
    for block in other.blocks[1:]:
        state.accept_header(block.header, NOW)
    for block in b.blocks[1:]:
        state.accept_block(block, NOW, activate=False)
    state.activate_best_chain()
    assert state.entries[b.blocks[107].hash].failed
    state.close()


def test_covers_needs_two_weeks_of_work_by_default(tmp_path: Path) -> None:
    b = ChainBuilder()
    b.mine(20)
    state = ChainState.open(tmp_path, b.params)
    for block in b.blocks[1:]:
        state.accept_block(block, NOW)
    assumed = AssumeValid(b.blocks[20].hash, REGTEST.spacing)
    assert assumed.margin == TWO_WEEKS
    assert not any(assumed.covers(state.entries, e) for e in state.active)  # far too few blocks
    short = AssumeValid(b.blocks[20].hash, REGTEST.spacing, blocks_margin(10))
    assert [e.height for e in state.active if short.covers(state.entries, e)] == list(range(11))
    state.close()


def test_the_option_is_a_block_hash_or_nothing() -> None:
    shown = "00" * 31 + "ab"
    assert parse_assume_valid(shown) == bytes.fromhex(shown)[::-1]
    assert parse_assume_valid("") is None and parse_assume_valid("0") is None
    for bad in ("ab", "zz" * 32, "0" * 63):
        with pytest.raises(ConfigError, match="assume-valid"):
            parse_assume_valid(bad)



def test_a_bad_option_stops_the_node_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from seedchain.cli import main

    argv = ["node", "--network", "regtest", "--datadir", str(tmp_path), "--assume-valid", "zz"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: --assume-valid must be a block hash (64 hex digits) or 0"
