"""Every consensus rule, one case each: a block or transaction that breaks it and the exact
error class it gets (in the spirit of Bitcoin Core's feature_block.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from consensus import errors as E
from consensus.assemble import assemble_block, solve_block, with_nonce
from consensus.block import Block, BlockHeader
from consensus.block_rules import (
    check_block_contextual,
    check_block_sanity,
    check_header_contextual,
)
from consensus.coinbase import block_subsidy, make_coinbase
from consensus.encoding import pack
from consensus.merkle import merkle_root
from consensus.params import MAIN, REGTEST, ChainParams
from consensus.pow import compact_to_target
from consensus.transaction import MAX_MONEY, MAX_TX_SIZE, OutPoint, Transaction, TxOut
from consensus.tx_rules import check_transaction_sanity
from consensus.utxo import CoinsOverlay, connect_block
from tests.framework.factory import ChainBuilder, Key, spend

P = REGTEST
NOW = P.genesis_time + 10_000_000
ALICE, BOB = Key.from_index(1), Key.from_index(2)


@pytest.fixture(scope="module")
def base() -> ChainBuilder:
    """110 blocks: coinbases of heights 1..10 are mature at height 111."""
    chain = ChainBuilder()
    chain.mine(110)
    return chain


def validate(chain: ChainBuilder, block: Block, now: int = NOW) -> None:
    """Run every rule on ``block`` as the next block of ``chain`` without changing ``chain``."""
    parent = chain.parent_info()
    check_block_sanity(block, P)
    check_header_contextual(block.header, parent, now, P)
    check_block_contextual(block, parent, P)
    connect_block(block, parent.height + 1, CoinsOverlay(chain.view), P)


def pay(
    chain: ChainBuilder,
    height: int,
    outputs: list[TxOut],
    key: Key | None = None,
    params: ChainParams = P,
) -> Transaction:
    outpoint, out = chain.coinbase_coin(height)
    return spend([(outpoint, out, key or chain.miner_key)], outputs, params)


def resolve(block: Block) -> Block:
    """Recompute the merkle root and solve again after the transactions were edited."""
    root, _ = merkle_root([tx.wtxid for tx in block.transactions])
    solved = solve_block(
        Block(replace(block.header, merkle_root=root, nonce=0), block.transactions)
    )
    assert solved is not None
    return solved


def coin(v: int) -> int:
    return v * 100_000_000


Case = Callable[[ChainBuilder], Block]


def coinbase_pays_too_much(c: ChainBuilder) -> Block:
    return c.make_block(extra_fee=1)


def double_spend_in_block(c: ChainBuilder) -> Block:
    a = pay(c, 1, [TxOut(coin(10), ALICE.lock)])
    b = pay(c, 1, [TxOut(coin(20), BOB.lock)])
    return c.make_block([a, b])


def immature_coinbase_spend(c: ChainBuilder) -> Block:
    return c.make_block([pay(c, c.height - 5, [TxOut(coin(1), ALICE.lock)])])


def duplicate_inputs(c: ChainBuilder) -> Block:
    outpoint, out = c.coinbase_coin(2)
    tx = spend(
        [(outpoint, out, c.miner_key), (outpoint, out, c.miner_key)], [TxOut(coin(60), ALICE.lock)]
    )
    return c.make_block([tx])


def bad_proof_of_work(c: ChainBuilder) -> Block:
    block = c.make_block()
    target = compact_to_target(block.header.bits)
    nonce = 0
    while int.from_bytes(with_nonce(block, nonce).hash, "little") <= target:
        nonce += 1
    return with_nonce(block, nonce)


def wrong_bits(c: ChainBuilder) -> Block:
    return c.make_block(bits=0x207FFFFE)


def negative_bits(c: ChainBuilder) -> Block:
    good = c.make_block()
    return Block(replace(good.header, bits=0x04923456), good.transactions)  # cannot be solved


def time_at_median(c: ChainBuilder) -> Block:
    return c.make_block(time=c.parent_info().median_time_past)


def time_below_median(c: ChainBuilder) -> Block:
    return c.make_block(time=c.parent_info().median_time_past - 1)


def time_too_far_ahead(c: ChainBuilder) -> Block:
    return c.make_block(time=NOW + P.max_future_block_time + 1)


def oversized_block(c: ChainBuilder) -> Block:
    # 12 transactions of ~97 kB each: each within MAX_TX_SIZE, together over 1 MiB
    txs = [pay(c, h, [TxOut(1, ALICE.lock)] * 3900) for h in range(1, 13)]
    assert all(tx.size < MAX_TX_SIZE for tx in txs)
    return c.make_block(txs)


def oversized_transaction(c: ChainBuilder) -> Block:
    return c.make_block([pay(c, 3, [TxOut(1, ALICE.lock)] * (MAX_TX_SIZE // 25))])


def other_network_signature(c: ChainBuilder) -> Block:
    return c.make_block([pay(c, 4, [TxOut(coin(1), ALICE.lock)], params=MAIN)])


def output_over_max_money(c: ChainBuilder) -> Block:
    return c.make_block([pay(c, 5, [TxOut(MAX_MONEY + 1, ALICE.lock)])])


def outputs_sum_overflow(c: ChainBuilder) -> Block:
    return c.make_block([pay(c, 5, [TxOut(MAX_MONEY, ALICE.lock), TxOut(MAX_MONEY, BOB.lock)])])


def inputs_below_outputs(c: ChainBuilder) -> Block:
    return c.make_block([pay(c, 6, [TxOut(coin(50) + 1, ALICE.lock)])])


def key_hash_mismatch(c: ChainBuilder) -> Block:
    return c.make_block([pay(c, 6, [TxOut(coin(1), ALICE.lock)], key=BOB)])


def bad_signature(c: ChainBuilder) -> Block:
    tx = pay(c, 7, [TxOut(coin(1), ALICE.lock)])
    w = tx.witnesses[0]
    forged = tx.with_witnesses(
        (w._replace(signature=bytes([w.signature[0] ^ 1]) + w.signature[1:]),)
    )
    return c.make_block([forged])


def missing_input(c: ChainBuilder) -> Block:
    tx = spend(
        [(OutPoint(b"\x11" * 32, 0), TxOut(coin(1), c.miner_key.lock), c.miner_key)],
        [TxOut(1, ALICE.lock)],
    )
    return c.make_block([tx])


def unknown_lock_version(c: ChainBuilder) -> Block:
    return c.make_block([pay(c, 8, [TxOut(coin(1), b"\x01" + ALICE.key_hash)])])


def short_lock(c: ChainBuilder) -> Block:
    return c.make_block([pay(c, 8, [TxOut(coin(1), b"\x00" + ALICE.key_hash[:19])])])


def no_outputs(c: ChainBuilder) -> Block:
    return c.make_block([pay(c, 8, [])])


def extra_too_long(c: ChainBuilder) -> Block:
    outpoint, out = c.coinbase_coin(8)
    return c.make_block(
        [spend([(outpoint, out, c.miner_key)], [TxOut(1, ALICE.lock)], extra=bytes(81))]
    )


def witness_count_mismatch(c: ChainBuilder) -> Block:
    tx = pay(c, 8, [TxOut(coin(1), ALICE.lock)])
    return c.make_block([tx.with_witnesses(())])


def non_final(c: ChainBuilder) -> Block:
    outpoint, out = c.coinbase_coin(9)
    tx = spend([(outpoint, out, c.miner_key)], [TxOut(1, ALICE.lock)], locktime=c.height + 1)
    return c.make_block([tx])


def bad_merkle_root(c: ChainBuilder) -> Block:
    block = c.make_block([pay(c, 9, [TxOut(coin(1), ALICE.lock)])])
    solved = solve_block(
        Block(replace(block.header, merkle_root=b"\x22" * 32, nonce=0), block.transactions)
    )
    assert solved is not None
    return solved


def first_not_coinbase(c: ChainBuilder) -> Block:
    block = c.make_block([pay(c, 9, [TxOut(coin(1), ALICE.lock)])])
    return resolve(Block(block.header, block.transactions[::-1]))


def two_coinbases(c: ChainBuilder) -> Block:
    block = c.make_block()
    second = make_coinbase(c.height + 1, [TxOut(1, ALICE.lock)], tag=b"2")
    return resolve(Block(block.header, (*block.transactions, second)))


def wrong_coinbase_height(c: ChainBuilder) -> Block:
    block = c.make_block()
    cb = make_coinbase(c.height + 7, block.transactions[0].outputs)
    return resolve(Block(block.header, (cb,)))


def same_transaction_twice(c: ChainBuilder) -> Block:
    tx1 = pay(c, 10, [TxOut(coin(1), ALICE.lock)])
    tx2 = pay(c, 9, [TxOut(coin(1), ALICE.lock)])
    block = c.make_block([tx1, tx2])
    return resolve(Block(block.header, (*block.transactions, tx1)))


def mutated_merkle(c: ChainBuilder) -> Block:
    """CVE-2012-2459: [cb, a, b] and [cb, a, b, b] have the same merkle root."""
    good = c.make_block(
        [pay(c, 10, [TxOut(coin(1), ALICE.lock)]), pay(c, 9, [TxOut(coin(2), ALICE.lock)])]
    )
    return Block(good.header, (*good.transactions, good.transactions[-1]))


CASES: list[tuple[Case, type[Exception]]] = [
    (coinbase_pays_too_much, E.CoinbaseTooLarge),
    (double_spend_in_block, E.DoubleSpendInBlock),
    (immature_coinbase_spend, E.ImmatureCoinbaseSpend),
    (duplicate_inputs, E.TxDuplicateInputs),
    (bad_proof_of_work, E.HighHash),
    (wrong_bits, E.BadDifficultyBits),
    (negative_bits, E.BadCompactBits),
    (time_at_median, E.TimestampTooOld),
    (time_below_median, E.TimestampTooOld),
    (time_too_far_ahead, E.TimestampTooNew),
    (oversized_block, E.BlockTooLarge),
    (oversized_transaction, E.TxTooLarge),
    (other_network_signature, E.BadSignature),
    (output_over_max_money, E.AmountOutOfRange),
    (outputs_sum_overflow, E.AmountOutOfRange),
    (inputs_below_outputs, E.InputsBelowOutputs),
    (key_hash_mismatch, E.KeyHashMismatch),
    (bad_signature, E.BadSignature),
    (missing_input, E.MissingInputs),
    (unknown_lock_version, E.UnknownLockVersion),
    (short_lock, E.BadLock),
    (no_outputs, E.TxNoOutputs),
    (extra_too_long, E.ExtraTooLong),
    (witness_count_mismatch, E.TxWitnessCountMismatch),
    (non_final, E.NonFinalTransaction),
    (bad_merkle_root, E.BadMerkleRoot),
    (first_not_coinbase, E.FirstNotCoinbase),
    (two_coinbases, E.MultipleCoinbases),
    (wrong_coinbase_height, E.BadCoinbaseHeight),
    (same_transaction_twice, E.DuplicateTransaction),
    (mutated_merkle, E.BlockMutated),
]


@pytest.mark.parametrize(("make", "error"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_rule_case(base: ChainBuilder, make: Case, error: type[Exception]) -> None:
    block = make(base)
    with pytest.raises(error) as info:
        validate(base, block)
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"


def test_the_unbroken_block_is_valid(base: ChainBuilder) -> None:
    """Control: a block spending mature coins correctly passes every rule."""
    txs = [pay(base, 1, [TxOut(coin(10), ALICE.lock), TxOut(coin(39), BOB.lock)])]
    validate(base, base.make_block(txs, extra_fee=coin(1)))


def test_double_spend_across_blocks(base: ChainBuilder) -> None:
    chain = base.fork(base.height)
    chain.add(chain.make_block([pay(chain, 1, [TxOut(coin(10), ALICE.lock)])], extra_fee=coin(40)))
    with pytest.raises(E.MissingInputs):
        validate(chain, chain.make_block([pay(chain, 1, [TxOut(coin(20), BOB.lock)])]))


def test_mutated_block_then_good_block_is_valid(base: ChainBuilder) -> None:
    good = base.make_block(
        [pay(base, 10, [TxOut(coin(1), ALICE.lock)]), pay(base, 9, [TxOut(coin(2), ALICE.lock)])],
        extra_fee=coin(97),
    )
    bad = Block(good.header, (*good.transactions, good.transactions[-1]))
    assert bad.compute_merkle_root()[0] == good.header.merkle_root
    with pytest.raises(E.BlockMutated) as info:
        validate(base, bad)
    assert info.value.permanent is False
    validate(base, good)


def test_bad_bits_on_retargeting_network() -> None:
    """On main, bits come from ASERT: the genesis bits are required right after genesis."""
    genesis = MAIN.genesis.header
    parent = type("P", (), {"height": 0, "time": genesis.time, "median_time_past": genesis.time})()
    header = BlockHeader(1, genesis.hash, bytes(32), genesis.time + 60, 0x1D010000, 0)
    with pytest.raises(E.BadDifficultyBits):
        check_header_contextual(header, parent, genesis.time + 100, MAIN)
    check_header_contextual(
        replace(header, bits=MAIN.pow_limit_bits), parent, genesis.time + 100, MAIN
    )


def test_non_canonical_encodings() -> None:
    tx = spend([(OutPoint(b"\x01" * 32, 0), TxOut(5, ALICE.lock), ALICE)], [TxOut(3, BOB.lock)])
    data = tx.encoded
    assert Transaction.decode(data) == tx
    # version 1 as a uint8 (0xcc 0x01) instead of a positive fixint
    with pytest.raises(E.NonCanonicalEncoding):
        Transaction.decode(b"\x96\xcc\x01" + data[2:])
    # the inputs array as array16
    with pytest.raises(E.NonCanonicalEncoding):
        Transaction.decode(data[:2] + b"\xdc\x00\x01" + data[3:])
    # trailing bytes, a map, a string instead of bytes, a bool instead of an int
    for bad in (
        data + b"\x00",
        pack({1: 2}),
        pack([1, [], [], 0, "x", []]),
        pack([True, [], [], 0, b"", []]),
    ):
        with pytest.raises(E.DecodeError):
            Transaction.decode(bad)
    block = assemble_block(b"\x00" * 32, 1, 1, P.pow_limit_bits, [tx], [TxOut(1, ALICE.lock)])
    body = block.encoded[80:]
    with pytest.raises(E.NonCanonicalEncoding):
        Block.decode(block.encoded[:80] + b"\xdc\x00\x02" + body[1:], P.max_block_size)
    assert Block.decode(block.encoded, P.max_block_size) == block


def test_decode_limits() -> None:
    with pytest.raises(E.DecodeError):
        Transaction.decode(bytes(MAX_TX_SIZE + 1))
    with pytest.raises(E.BlockTooLarge):
        Block.decode(bytes(P.max_block_size + 1), P.max_block_size)
    with pytest.raises(E.DecodeError):
        Block.decode(bytes(80), P.max_block_size)


def test_sanity_of_coinbase_amounts() -> None:
    cb = make_coinbase(1, [TxOut(block_subsidy(1, P.halving_interval), ALICE.lock)])
    check_transaction_sanity(cb)
