"""Mempool acceptance: every consensus rule and policy a lone transaction or a chain of
unconfirmed transactions can break, with the exact error class; and that a refusal changes
nothing."""

from __future__ import annotations

import pytest

from consensus import errors as E
from consensus.coinbase import make_coinbase
from consensus.params import MAIN
from consensus.transaction import (
    LOCKTIME_THRESHOLD,
    MAX_MONEY,
    OutPoint,
    Transaction,
    TxOut,
    Witness,
)
from consensus.utxo import Coin
from node import mempool_errors as M
from node.mempool_policy import MempoolPolicy, dust_threshold
from tests.framework.factory import spend
from tests.unit.node.test_mempool_support import (
    ALICE,
    BOB,
    COIN_VALUE,
    NOW,
    FakeChain,
    fund,
    make_pool,
    out,
    pay,
    refused,
)


def test_accepts_a_valid_payment_and_indexes_it() -> None:
    pool, chain = make_pool()
    coin = fund(chain, 1)[0]
    tx = pay([coin], fee=5000, outputs=2)
    result = pool.accept(tx, NOW)
    assert (result.txid, result.fee, result.size) == (tx.txid, 5000, tx.size)
    assert result.replaced == () and not result.orphan and result.accepted == [tx.txid]
    assert tx.txid in pool and pool.count == len(pool) == 1 and pool.bytes == tx.size
    assert pool.total_fees == 5000
    entry = pool.get(tx.txid)
    assert entry is not None
    assert (entry.fee, entry.size, entry.time, entry.height) == (5000, tx.size, NOW, 500)
    assert pool.spender_of(coin[0]) == tx.txid
    assert pool.txids() == [tx.txid]
    pool.check()


def test_duplicate_is_already_in_mempool() -> None:
    pool, chain = make_pool()
    tx = pay(fund(chain, 1), fee=5000)
    pool.accept(tx, NOW)
    error = refused(pool, tx, M.AlreadyInMempool)
    assert error.code == "already_in_mempool"


def test_coinbase_isrefused() -> None:
    pool, _ = make_pool()
    refused(pool, make_coinbase(501, [TxOut(COIN_VALUE, ALICE.lock)]), E.UnexpectedCoinbase)


def test_sanity_rules() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 2)
    no_outputs = spend([coins[0]], [])
    refused(pool, no_outputs, E.TxNoOutputs)
    duplicate = spend([coins[0], coins[0]], [TxOut(COIN_VALUE, ALICE.lock)])
    refused(pool, duplicate, E.TxDuplicateInputs)
    good = pay([coins[0]], 5000)
    refused(pool, good.with_witnesses(()), E.TxWitnessCountMismatch)
    too_much = spend([coins[0]], [TxOut(MAX_MONEY + 1, ALICE.lock)])
    refused(pool, too_much, E.AmountOutOfRange)
    bad_lock = spend([coins[0]], [TxOut(COIN_VALUE // 2, b"\x01" + bytes(20))])
    refused(pool, bad_lock, E.UnknownLockVersion)
    big = spend([coins[1]], [TxOut(COIN_VALUE // 2, ALICE.lock)], extra=bytes(81))
    refused(pool, big, E.ExtraTooLong)


def test_oversized_transaction_is_invalid_and_policy_size_is_non_standard() -> None:
    pool, chain = make_pool()
    many = fund(chain, 800, value=COIN_VALUE)
    huge = pay(many, fee=200_000)
    assert huge.size > 100_000
    refused(pool, huge, E.TxTooLarge)
    small_policy_pool, chain2 = make_pool(MempoolPolicy(max_standard_tx_size=200))
    tx = pay(fund(chain2, 2), fee=10_000)
    assert tx.size > 200
    refused(small_policy_pool, tx, M.TxSizeNonStandard)


def test_version_other_than_one_is_non_standard() -> None:
    pool, chain = make_pool()
    tx = pay(fund(chain, 1), fee=5000, version=2)
    assert refused(pool, tx, M.NonStandardVersion).code == "non_standard_version"


def test_dust_output_is_refused_and_the_threshold_itself_is_not_dust() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 2)
    threshold = dust_threshold(TxOut(600, ALICE.lock), 3)
    assert 400 < threshold < 600
    change = TxOut(COIN_VALUE - 10_000, ALICE.lock)
    dusty = spend([coins[0]], [TxOut(threshold - 1, BOB.lock), change])
    assert refused(pool, dusty, M.DustOutput).code == "dust"
    ok = spend([coins[1]], [TxOut(threshold, BOB.lock), change])
    pool.accept(ok, NOW)


def test_finality_at_next_height_and_median_time_past() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 4)
    refused(pool, pay([coins[0]], 5000, locktime=501), E.NonFinalTransaction)
    pool.accept(pay([coins[1]], 5000, locktime=500), NOW)
    mtp = chain.tip_median_time_past
    assert mtp >= LOCKTIME_THRESHOLD
    refused(pool, pay([coins[2]], 5000, locktime=mtp), E.NonFinalTransaction)
    pool.accept(pay([coins[3]], 5000, locktime=mtp - 1), NOW)


def test_fee_rate_floor() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 2)
    probe = pay([coins[0]], 1000)
    short = pay([coins[0]], probe.size - 1)
    assert short.size == probe.size
    assert refused(pool, short, M.MinFeeNotMet).code == "min_fee_not_met"
    exact = pay([coins[1]], probe.size)
    assert exact.size == probe.size
    assert pool.accept(exact, NOW).fee == exact.size


def test_input_rules() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 3)
    refused(pool, spend([coins[0]], [TxOut(COIN_VALUE + 1, ALICE.lock)]), E.InputsBelowOutputs)
    wrong_key = spend([(coins[1][0], coins[1][1], BOB)], [TxOut(COIN_VALUE - 5000, BOB.lock)])
    refused(pool, wrong_key, E.KeyHashMismatch)
    tx = pay([coins[2]], 5000)
    witness = tx.witnesses[0]
    forged = tx.with_witnesses((Witness(witness.pubkey, bytes(64)),))
    refused(pool, forged, E.BadSignature)
    other_network = pay([coins[2]], 5000, params=MAIN)
    refused(pool, other_network, E.BadSignature)


def test_coinbase_maturity_counts_from_the_next_height() -> None:
    pool, chain = make_pool()
    immature = fund(chain, 1, coinbase=True, height=402, tag=b"cb-young")[0]
    mature = fund(chain, 1, coinbase=True, height=401, tag=b"cb-old")[0]
    refused(pool, pay([immature], 5000), E.ImmatureCoinbaseSpend)
    pool.accept(pay([mature], 5000), NOW)


def test_spending_a_missing_output_of_a_mempool_parent_is_missing_inputs() -> None:
    pool, chain = make_pool()
    parent = pay(fund(chain, 1), 5000)
    pool.accept(parent, NOW)
    bogus = spend([(OutPoint(parent.txid, 5), parent.outputs[0], ALICE)], [TxOut(1000, ALICE.lock)])
    refused(pool, bogus, E.MissingInputs)


def test_already_confirmed_transaction() -> None:
    pool, chain = make_pool()
    coin = fund(chain, 1)[0]
    tx = pay([coin], 5000)
    chain.coins.spend_coin(coin[0])
    chain.coins.add_coin(OutPoint(tx.txid, 0), make_coin(tx))
    assert refused(pool, tx, M.AlreadyConfirmed).code == "already_confirmed"


def make_coin(tx: Transaction) -> Coin:
    return Coin(tx.outputs[0].value, tx.outputs[0].lock, 500, False)


def test_unknown_inputs_go_to_the_orphan_pool() -> None:
    pool, chain = make_pool()
    parent = pay(fund(chain, 1), 5000)
    child = pay([out(parent)], 5000)
    result = pool.accept(child, NOW)
    assert result.orphan and result.missing_parents == (parent.txid,) and result.accepted == []
    assert child.txid not in pool and child.txid in pool.orphans


def test_parents_and_children_in_the_mempool() -> None:
    pool, chain = make_pool()
    a, b = fund(chain, 2)
    parent = pay([a], 5000, outputs=2)
    child = pay([out(parent, 0), b], 7000)
    grandchild = pay([out(child)], 9000)
    for tx in (parent, child, grandchild):
        pool.accept(tx, NOW)
    assert pool.ancestors(grandchild.txid) == {parent.txid, child.txid}
    assert pool.descendants(parent.txid) == {child.txid, grandchild.txid}
    top = pool.get(parent.txid)
    bottom = pool.get(grandchild.txid)
    assert top is not None and bottom is not None
    assert (top.descendant_count, top.descendant_fees) == (3, 21_000)
    assert (bottom.ancestor_count, bottom.ancestor_fees) == (3, 21_000)
    assert bottom.ancestor_size == parent.size + child.size + grandchild.size
    pool.check()


def _chain_of(chain: FakeChain, n: int, fee: int = 5000) -> list[Transaction]:
    txs = [pay(fund(chain, 1, tag=b"chain"), fee, outputs=3)]
    for _ in range(n - 1):
        txs.append(pay([out(txs[-1])], fee, outputs=3))
    return txs


def test_ancestor_count_limit() -> None:
    pool, chain = make_pool(MempoolPolicy(max_ancestor_count=3))
    txs = _chain_of(chain, 4)
    for tx in txs[:3]:
        pool.accept(tx, NOW)
    assert refused(pool, txs[3], M.TooManyAncestors).code == "too_many_ancestors"


def test_descendant_count_limit() -> None:
    pool, chain = make_pool(MempoolPolicy(max_descendant_count=3))
    root = pay(fund(chain, 1), 5000, outputs=3)
    pool.accept(root, NOW)
    pool.accept(pay([out(root, 0)], 5000), NOW)
    pool.accept(pay([out(root, 1)], 5000), NOW)
    refused(pool, pay([out(root, 2)], 5000), M.TooManyDescendants)


def test_ancestor_and_descendant_size_limits() -> None:
    _, probe_chain = make_pool()
    txs = _chain_of(probe_chain, 2)
    two = txs[0].size + txs[1].size
    pool, chain = make_pool(MempoolPolicy(max_ancestor_size=two - 1))
    txs = _chain_of(chain, 2)
    pool.accept(txs[0], NOW)
    refused(pool, txs[1], M.AncestorSizeExceeded)
    pool, chain = make_pool(MempoolPolicy(max_descendant_size=two - 1))
    txs = _chain_of(chain, 2)
    pool.accept(txs[0], NOW)
    refused(pool, txs[1], M.DescendantSizeExceeded)


def test_error_codes_are_stable_snake_case() -> None:
    classes = [c for c in vars(M).values() if isinstance(c, type) and issubclass(c, M.MempoolError)]
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)
    assert all(code.replace("_", "").isalpha() and code.islower() for code in codes)


def test_remove_takes_descendants_along() -> None:
    pool, chain = make_pool()
    a, b = fund(chain, 2)
    parent = pay([a], 5000)
    child = pay([out(parent)], 5000)
    other = pay([b], 5000)
    for tx in (parent, child, other):
        pool.accept(tx, NOW)
    assert set(pool.remove(parent.txid)) == {parent.txid, child.txid}
    assert pool.remove(parent.txid) == []
    assert pool.txids() == [other.txid] and pool.spender_of(a[0]) is None
    pool.check()


def test_policy_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        MempoolPolicy(max_bytes=0)
    with pytest.raises(ValueError):
        MempoolPolicy(min_relay_fee_rate=-1)


def test_recent_lists_the_last_entries_still_held_newest_first() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 12)
    txs = [pay([coin], 1000) for coin in coins]
    for offset, tx in enumerate(txs):
        pool.accept(tx, NOW + offset)
    assert [e.txid for e in pool.recent()] == [tx.txid for tx in reversed(txs)][:10]
    pool.remove(txs[-1].txid)  # left: skipped
    assert [e.txid for e in pool.recent(3)] == [txs[-2].txid, txs[-3].txid, txs[-4].txid]
    assert pool.recent(0) == []
