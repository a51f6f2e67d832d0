"""Accepting a package: a child with its unconfirmed parents, judged by the package's fee rate
(Bitcoin Core's ``submitpackage``), so that a child can pay for a parent below the fee floor.

May import consensus, the other ``node.mempool_*`` modules and the standard library
(``node.mempool`` only for typing). Called on the chain thread through
``Mempool.accept_package``.

The package is the child last and its parents before it, parents first: every other
transaction is a parent of the child, and no parent spends another (Core's child-with-parents
tree), at most ``MAX_PACKAGE_COUNT`` transactions and ``MAX_PACKAGE_SIZE`` bytes. Then, as Core:

1. each parent already in the mempool is left as it is; each other parent is offered alone; one
   refused *only* for its fee rate (``min_fee_not_met``, ``mempool_min_fee_not_met``) waits for
   the package; any other refusal ends it (the parents taken alone so far stay);
2. without a waiting parent the child is offered alone;
3. otherwise the waiting parents and the child go in with their own fee floors waived and no
   eviction yet; then the fee rate of those transactions together (modified fees, over their
   bytes) must pass the floors a single transaction meets, else all of them leave again
   (``package_fee_too_low``); last the size cap is enforced, and if it evicts one of them the
   package is refused (``mempool_full``). Nothing of the package stays after a refusal in this
   step. Every signature is checked as usual; replacing mempool transactions is left to
   single transactions (no package RBF).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from consensus.errors import ConsensusError
from consensus.transaction import Transaction
from node.mempool_accept import accept_one
from node.mempool_errors import (
    MempoolError,
    MempoolFull,
    MempoolMinFeeNotMet,
    MinFeeNotMet,
    PackageError,
    PackageFeeTooLow,
)
from node.mempool_types import AcceptResult, MissingParents

if TYPE_CHECKING:
    from node.mempool import Mempool

MAX_PACKAGE_COUNT = 25  # Core's MAX_PACKAGE_COUNT
MAX_PACKAGE_SIZE = 101_000  # bytes (Core: 101 kvB)

Outcome = AcceptResult | ConsensusError | MempoolError


@dataclass(frozen=True)
class PackageResult:
    """Per transaction, in package order: its acceptance (``already`` ones included, with
    their fee) or what refused it; and the package fee rate when it was judged as one."""

    outcomes: tuple[Outcome | None, ...]  # None: not tried (an earlier one ended the package)
    package_fee_rate: float | None = None
    accepted_orphans: tuple[AcceptResult, ...] = ()  # orphans the package let in

    @property
    def accepted(self) -> list[bytes]:
        """Txids of the package in the mempool now (those already there included)."""
        return [o.txid for o in self.outcomes if isinstance(o, AcceptResult)]


def check_shape(txs: Sequence[Transaction]) -> None:
    """``PackageError`` unless ``txs`` is a child (last) with its parents (see the module)."""
    if not 2 <= len(txs) <= MAX_PACKAGE_COUNT:
        raise PackageError(f"a package is 2 to {MAX_PACKAGE_COUNT} transactions")
    if sum(tx.size for tx in txs) > MAX_PACKAGE_SIZE:
        raise PackageError(f"a package is at most {MAX_PACKAGE_SIZE} bytes")
    txids = [tx.txid for tx in txs]
    if len(set(txids)) != len(txids):
        raise PackageError("a transaction appears twice in the package")
    parents = set(txids[:-1])
    child_spends = {op.txid for op in txs[-1].inputs}
    if not parents <= child_spends:
        raise PackageError("every transaction but the last must be a parent of the last")
    for tx in txs[:-1]:
        if any(op.txid in parents for op in tx.inputs):
            raise PackageError("a parent spends another parent: not a child-with-parents tree")
    spent = [op for tx in txs for op in tx.inputs]
    if len(set(spent)) != len(spent):
        raise PackageError("two transactions of the package spend the same output")


def accept_package(pool: Mempool, txs: Sequence[Transaction], now: int) -> PackageResult:
    check_shape(txs)
    outcomes: list[Outcome | None] = [None] * len(txs)
    waiting: list[int] = []
    for index, tx in enumerate(txs[:-1]):
        try:
            outcomes[index] = _already(pool, tx) or accept_one(pool, tx, now)
        except (MinFeeNotMet, MempoolMinFeeNotMet):
            waiting.append(index)
        except (ConsensusError, MempoolError) as exc:
            outcomes[index] = exc
            return PackageResult(tuple(outcomes))
        except MissingParents as missing:
            outcomes[index] = _missing(tx, missing)
            return PackageResult(tuple(outcomes))
    last = len(txs) - 1
    if not waiting:
        outcomes[last] = _alone(pool, txs[last], now)
        return PackageResult(tuple(outcomes))
    return _as_package(pool, txs, now, [*waiting, last], outcomes)


def _already(pool: Mempool, tx: Transaction) -> AcceptResult | None:
    """A transaction of the package already in the mempool counts as accepted, as it is."""
    entry = pool.graph.entries.get(tx.txid)
    return None if entry is None else AcceptResult(tx.txid, entry.fee, entry.size)


def _alone(pool: Mempool, tx: Transaction, now: int) -> Outcome:
    try:
        return _already(pool, tx) or accept_one(pool, tx, now)
    except (ConsensusError, MempoolError) as exc:
        return exc
    except MissingParents as missing:
        return _missing(tx, missing)


def _as_package(
    pool: Mempool,
    txs: Sequence[Transaction],
    now: int,
    members: list[int],
    outcomes: list[Outcome | None],
) -> PackageResult:
    added: list[AcceptResult] = []
    try:
        for index in members:
            try:
                result = accept_one(pool, txs[index], now, package=True)
            except MissingParents as missing:
                raise _missing(txs[index], missing) from None
            added.append(result)
            outcomes[index] = result
        fees = sum(r.fee + pool.deltas.get(r.txid, 0) for r in added)
        size = sum(r.size for r in added)
        try:
            pool._check_fee_rate(fees, size, now)
        except (MinFeeNotMet, MempoolMinFeeNotMet) as exc:
            raise PackageFeeTooLow(f"the package pays {fees / size:.3f} per byte: {exc}") from None
        if pool.graph.total_size > pool.policy.max_bytes:
            added = _trim(pool, added)
    except (ConsensusError, MempoolError) as exc:
        pool._remove_with_descendants([r.txid for r in added])
        for index in members:
            outcomes[index] = exc
        return PackageResult(tuple(outcomes))
    return PackageResult(tuple(outcomes), fees / size)


def _trim(pool: Mempool, added: list[AcceptResult]) -> list[AcceptResult]:
    """Enforce the size cap once the package is in. If that evicts a member, what the trim
    took from others goes back, the rolling floor is as it was, and ``MempoolFull`` is raised
    with ``added`` cut to the members still in (for the caller to take out)."""
    saved = pool.rolling_floor.state()
    gone = pool._trim()
    pool._version += 1
    ours = {r.txid for r in added}
    if not any(entry.txid in ours for entry in gone):
        for entry in gone:
            pool.estimator.untrack(entry.txid)
        return added
    for entry in sorted(gone, key=lambda e: (e.ancestor_count, e.sequence)):
        if entry.txid in ours:
            pool.estimator.untrack(entry.txid)
        else:
            pool.graph.add(entry, link_children=True)
    pool.rolling_floor.restore(saved)
    added[:] = [r for r in added if r.txid in pool.graph.entries]
    raise MempoolFull("the package would be the first evicted from a full mempool")


def _missing(tx: Transaction, missing: MissingParents) -> MempoolError:
    return PackageError(
        f"{tx.txid_hex} spends outputs of {len(missing.parents)} transaction(s) that are"
        " neither in the chain, the mempool nor the package"
    )
