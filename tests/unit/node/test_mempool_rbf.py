"""Full replace-by-fee: Bitcoin Core's replacement rules 2-6, each refusal with its own error
class, and a successful replacement taking the originals' descendants with it."""

from __future__ import annotations

from consensus.transaction import Transaction
from node import mempool_errors as M
from node.mempool import Mempool
from node.mempool_policy import MempoolPolicy
from tests.unit.node.test_mempool_support import (
    BOB,
    NOW,
    fund,
    make_pool,
    out,
    pay,
    refused,
)


def _refused(pool: Mempool, tx: Transaction, error: type[M.MempoolConflict]) -> None:
    assert isinstance(refused(pool, tx, error), M.MempoolConflict)


def test_replacement_evicts_the_conflict_and_its_descendants() -> None:
    pool, chain = make_pool()
    coin = fund(chain, 1)[0]
    original = pay([coin], 1000, outputs=2)
    child = pay([out(original, 0)], 2000)
    pool.accept(original, NOW)
    pool.accept(child, NOW)
    replacement = pay([coin], 10_000)
    result = pool.accept(replacement, NOW + 1)
    assert set(result.replaced) == {original.txid, child.txid}
    assert pool.txids() == [replacement.txid]
    assert pool.spender_of(coin[0]) == replacement.txid
    assert pool.bytes == replacement.size
    pool.check()


def test_no_rbf_when_full_rbf_is_off() -> None:
    pool, chain = make_pool(MempoolPolicy(full_rbf=False))
    coin = fund(chain, 1)[0]
    pool.accept(pay([coin], 1000), NOW)
    _refused(pool, pay([coin], 50_000), M.MempoolConflict)


def test_rule6_fee_rate_must_beat_each_direct_conflict() -> None:
    pool, chain = make_pool()
    coin = fund(chain, 1)[0]
    original = pay([coin], 5000)
    pool.accept(original, NOW)
    same_rate = pay([coin], 5000, key=BOB)
    assert same_rate.size == original.size
    _refused(pool, same_rate, M.RbfFeeRateTooLow)


def test_rule3_absolute_fee_must_cover_everything_replaced() -> None:
    pool, chain = make_pool()
    coin = fund(chain, 1)[0]
    original = pay([coin], 1000, outputs=2)
    pool.accept(original, NOW)
    pool.accept(pay([out(original, 0)], 5000), NOW)
    # Higher fee-rate than the original alone, but less than original + child's 6000.
    _refused(pool, pay([coin], 2000), M.RbfInsufficientFee)


def test_rule4_extra_fee_must_pay_incremental_relay_fee() -> None:
    pool, chain = make_pool()
    coin = fund(chain, 1)[0]
    original = pay([coin], 1000)
    pool.accept(original, NOW)
    probe = pay([coin], 1000 + original.size)
    short = pay([coin], 1000 + probe.size - 1)
    assert short.size == probe.size
    _refused(pool, short, M.RbfInsufficientRelayFee)
    enough = pay([coin], 1000 + probe.size)
    assert pool.accept(enough, NOW).replaced == (original.txid,)


def test_rule5_at_most_max_replacements() -> None:
    pool, chain = make_pool(MempoolPolicy(max_replacements=2))
    coin = fund(chain, 1)[0]
    original = pay([coin], 1000, outputs=2)
    pool.accept(original, NOW)
    pool.accept(pay([out(original, 0)], 1000), NOW)
    pool.accept(pay([out(original, 1)], 1000), NOW)
    _refused(pool, pay([coin], 100_000), M.RbfTooManyReplacements)


def test_rule2_no_new_unconfirmed_inputs() -> None:
    pool, chain = make_pool()
    coin, other = fund(chain, 2)
    unrelated = pay([other], 1000)
    pool.accept(unrelated, NOW)
    pool.accept(pay([coin], 1000), NOW)
    _refused(pool, pay([coin, out(unrelated)], 100_000), M.RbfAddsUnconfirmed)


def test_rule2_allows_an_unconfirmed_input_the_original_had() -> None:
    pool, chain = make_pool()
    coin, other = fund(chain, 2)
    parent = pay([other], 1000)
    pool.accept(parent, NOW)
    pool.accept(pay([coin, out(parent)], 1000), NOW)
    replacement = pay([coin, out(parent)], 100_000)
    assert len(pool.accept(replacement, NOW).replaced) == 1
    pool.check()


def test_replacement_may_not_spend_what_it_replaces() -> None:
    pool, chain = make_pool()
    coin = fund(chain, 1)[0]
    original = pay([coin], 1000, outputs=2)
    pool.accept(original, NOW)
    _refused(pool, pay([coin, out(original, 1)], 100_000), M.RbfSpendsConflictingTx)


def test_replacement_frees_room_under_the_descendant_limit() -> None:
    pool, chain = make_pool(MempoolPolicy(max_descendant_count=2))
    root = pay(fund(chain, 1), 1000, outputs=2)
    pool.accept(root, NOW)
    first = pay([out(root, 0)], 1000)
    pool.accept(first, NOW)
    # The root's package is full, but a replacement of `first` takes its place.
    replacement = pay([out(root, 0)], 20_000)
    assert pool.accept(replacement, NOW).replaced == (first.txid,)
    pool.check()


def test_a_replacement_that_would_be_evicted_at_once_restores_the_original() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 4)
    original = pay([coins[0]], 330)
    fillers = [pay([c], 10 * 170) for c in coins[1:]]
    limit = original.size + sum(f.size for f in fillers) + 20
    pool, chain = make_pool(MempoolPolicy(max_bytes=limit))
    fund(chain, 4)
    for tx in (original, *fillers):
        pool.accept(tx, NOW)
    probe = pay([coins[0]], 330, outputs=3)
    replacement = pay([coins[0]], 330 + probe.size + 10, outputs=3)
    assert replacement.size > original.size
    refused(pool, replacement, M.MempoolFull)
    assert pool.spender_of(coins[0][0]) == original.txid
