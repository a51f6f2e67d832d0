"""Packages (Core's ``submitpackage``): a child pays for a parent under the fee floor when the
two together pay enough; a package that does not, or that a full mempool would evict, leaves
nothing behind; a package of the wrong shape is refused before anything is tried."""

from __future__ import annotations

import pytest

from consensus.transaction import Transaction
from node import mempool_errors as M
from node.mempool import Mempool
from node.mempool_package import MAX_PACKAGE_COUNT, check_shape
from node.mempool_policy import MempoolPolicy
from node.mempool_types import AcceptResult
from tests.unit.node.test_mempool_support import (
    BOB,
    NOW,
    fund,
    make_pool,
    out,
    pay,
    pay_rate,
    snapshot,
)


def outcome_types(result: object) -> list[str]:
    outcomes = getattr(result, "outcomes")  # noqa: B009
    return [type(o).__name__ for o in outcomes]


def test_a_child_pays_for_a_parent_under_the_floor() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 2)
    parent = pay([coins[0]], 0, outputs=2)
    other = pay_rate([coins[1]], 2.0)  # a parent fine on its own
    child = pay([out(parent), out(other)], 20 * (parent.size + 400))
    with pytest.raises(M.MinFeeNotMet):
        pool.accept(parent, NOW)
    result = pool.accept_package([parent, other, child], NOW)
    assert outcome_types(result) == ["AcceptResult"] * 3
    assert set(result.accepted) == {parent.txid, other.txid, child.txid}
    assert result.package_fee_rate is not None
    entry = pool.get(child.txid)
    assert entry is not None
    assert result.package_fee_rate == pytest.approx(entry.fee / (parent.size + child.size))
    pool.check()
    txs, _ = pool.select_for_block(100_000)
    assert [t.txid for t in txs][-1] == child.txid and parent.txid in {t.txid for t in txs}
    # the same package again: everything is already there
    again = pool.accept_package([parent, other, child], NOW)
    assert set(again.accepted) == set(result.accepted)


def test_a_package_that_pays_too_little_leaves_nothing() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 1)
    parent = pay([coins[0]], 0)
    child = pay([out(parent)], 10)  # 10 units for two transactions: far under 1 per byte
    before = snapshot(pool)
    result = pool.accept_package([parent, child], NOW)
    assert outcome_types(result) == ["PackageFeeTooLow", "PackageFeeTooLow"]
    assert result.accepted == [] and snapshot(pool) == before
    pool.check()


def test_a_parent_refused_for_another_reason_ends_the_package() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 1)
    parent = pay([coins[0]], 5000)
    pool.accept(parent, NOW)
    rival = pay([coins[0]], 5000, key=BOB)  # conflicts with parent, pays no more: refused
    child = pay([out(rival)], 5000)
    result = pool.accept_package([rival, child], NOW)
    assert isinstance(result.outcomes[0], M.MempoolConflict)
    assert result.outcomes[1] is None and result.accepted == []
    assert pool.txids() == [parent.txid]


def test_a_full_mempool_refuses_a_package_it_would_evict() -> None:
    size = pay_rate(fund(make_pool()[1], 1), 2.0).size
    pool, chain = make_pool(MempoolPolicy(max_bytes=int(size * 3.5)))
    coins = fund(chain, 4)
    for coin in coins[:3]:
        pool.accept(pay_rate([coin], 50.0), NOW)
    parent = pay([coins[3]], 0)
    child = pay([out(parent)], 3 * (parent.size + size))  # ~3 per byte: the lowest package
    before = snapshot(pool)
    result = pool.accept_package([parent, child], NOW)
    assert outcome_types(result) == ["MempoolFull", "MempoolFull"]
    assert snapshot(pool) == before
    pool.check()


def test_the_shape_is_checked_first() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 3)
    a = pay([coins[0]], 0)
    b = pay([out(a)], 0)
    c = pay([out(b)], 90_000)
    lone = pay([coins[1]], 5000)
    cases: list[tuple[list[Transaction], str]] = [
        ([a], "2 to"),
        ([a, a], "appears twice"),
        ([lone, c], "parent of the last"),
        ([a, b, c], "every transaction but the last"),  # a is c's grandparent only
        ([pay([coins[2]], 0)] * 2, "appears twice"),
    ]
    for txs, message in cases:
        with pytest.raises(M.PackageError, match=message):
            check_shape(txs)
        with pytest.raises(M.PackageError):
            pool.accept_package(txs, NOW)
    many = [pay([coin], 1000) for coin in fund(chain, MAX_PACKAGE_COUNT, tag=b"many")]
    with pytest.raises(M.PackageError, match="2 to 25"):
        check_shape([*many, pay([out(t) for t in many], 1000)])
    assert pool.count == 0


def test_parents_that_pass_alone_leave_the_child_to_itself() -> None:
    pool, chain = make_pool()
    coins = fund(chain, 1)
    parent = pay_rate([coins[0]], 3.0)
    child = pay([out(parent)], 1)  # under the floor, and its parent needs no help
    result = pool.accept_package([parent, child], NOW)
    assert isinstance(result.outcomes[0], AcceptResult)
    assert isinstance(result.outcomes[1], M.MinFeeNotMet)
    assert result.package_fee_rate is None and pool.txids() == [parent.txid]


def test_a_package_lets_its_waiting_orphans_in() -> None:
    pool: Mempool
    pool, chain = make_pool()
    coins = fund(chain, 1)
    parent = pay([coins[0]], 0, outputs=2)
    child = pay([out(parent)], 20 * (parent.size + 300))
    grandchild = pay([out(child)], 5000)
    assert pool.accept(grandchild, NOW).orphan
    result = pool.accept_package([parent, child], NOW)
    assert [r.txid for r in result.accepted_orphans] == [grandchild.txid]
    assert grandchild.txid in pool
    pool.check()
