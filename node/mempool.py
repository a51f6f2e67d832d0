"""The mempool: valid unconfirmed transactions waiting for a block, as Bitcoin Core keeps them.

May import consensus, the other ``node.mempool_*`` modules (the checks and commit of one
transaction live in ``node.mempool_accept``), ``node.txgraph``, ``node.fees`` and
the standard library (no asyncio, no clock: time comes in as ``now``, Unix seconds).

``accept`` runs, cheapest first: consensus sanity, standardness, finality at the next height,
inputs against the chain's UTXO set with mempool outputs laid over it (a missing input sends the
transaction to the orphan pool), amounts and maturity, fee-rate floors, ancestor/descendant
limits, full-RBF replacement rules, and last every signature. Only then does anything change:
replaced transactions leave, the entry goes in, and if that takes the mempool over its size cap
the lowest descendant-score packages are evicted (raising the rolling minimum fee-rate); if the
new transaction is among them, everything is put back and ``MempoolFull`` is raised. A refused
transaction leaves the mempool exactly as it was.

The chain view must already show the new tip when ``block_connected`` or ``reorg`` is called.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import replace

from consensus.block import Block
from consensus.errors import ConsensusError, MissingInputs
from consensus.params import ChainParams
from consensus.signing import verify_batch
from consensus.transaction import OutPoint, Transaction
from consensus.utxo import Verifier
from node.fees import FeeEstimator, combine_estimates, fee_histogram
from node.mempool_accept import accept_one
from node.mempool_batch import BatchResult, FeeCaps, VerifyMany, accept_batch
from node.mempool_errors import MempoolError, MempoolMinFeeNotMet, MinFeeNotMet, TooManyPrioritised
from node.mempool_orphans import OrphanPool
from node.mempool_package import PackageResult, accept_package
from node.mempool_policy import MempoolPolicy, RollingFeeFloor
from node.mempool_reorg import invalid_after_reorg, remove_for_block
from node.mempool_select import select_for_block
from node.mempool_types import AcceptResult, ChainView, MissingParents, ReorgResult
from node.sigcache import SignatureCache
from node.txgraph import MempoolEntry, TxGraph

RECENT_KEPT = 100  # txids remembered for recent(); those that left are skipped
MAX_DELTAS = 100_000  # prioritised txids kept (Core keeps any number; an input needs a bound)

__all__ = ["AcceptResult", "ChainView", "Mempool", "MempoolEntry", "MempoolPolicy", "ReorgResult"]


class Mempool:
    """Unconfirmed transactions valid on the chain view's tip (see the module docstring)."""

    def __init__(
        self,
        params: ChainParams,
        chain: ChainView,
        policy: MempoolPolicy | None = None,
        *,
        estimator: FeeEstimator | None = None,
        verifier: Verifier = verify_batch,
    ) -> None:
        self.params = params
        self.chain = chain
        self.policy = policy or MempoolPolicy()
        self.estimator = estimator or FeeEstimator()
        self.verifier = verifier
        self.signatures = SignatureCache()  # filled and emptied by accept_batch
        self.graph = TxGraph()
        p = self.policy
        self.orphans = OrphanPool(
            p.max_orphans, p.max_orphan_bytes, p.max_orphan_tx_size, p.orphan_expiry_seconds
        )
        self._sequence = 0
        self._version = 0  # bumped on every change of the entries (for caches)
        self._last_now = 0
        self.rolling_floor = RollingFeeFloor(p.rolling_fee_half_life, p.incremental_relay_fee_rate)
        self._rates_cache: tuple[int, list[tuple[float, int]]] = (-1, [])
        self._recent: deque[bytes] = deque(maxlen=RECENT_KEPT)  # txids as they entered
        self.deltas: dict[bytes, int] = {}  # prioritisetransaction's fee deltas, by txid

    # --- accepting ----------------------------------------------------------------------------
    def accept(
        self, tx: Transaction, now: int, announcer: Hashable = None, max_fee_rate: int | None = None
    ) -> AcceptResult:
        """Validate ``tx`` and add it (or hold it as an orphan announced by ``announcer``, None
        for the API). Raises the consensus error of a broken rule, or a ``MempoolError`` for a
        policy refusal or a fee over ``max_fee_rate`` (the API caller's); then nothing changed."""
        self._last_now = max(self._last_now, now)
        try:
            result = accept_one(self, tx, now, max_fee_rate=max_fee_rate)
        except MissingParents as missing:
            self.orphans.add(tx, now, announcer)
            return AcceptResult(tx.txid, 0, tx.size, orphan=True, missing_parents=missing.parents)
        if not len(self.orphans):
            return result
        self.orphans.remove(tx.txid)  # held as an orphan before a block confirmed its parents
        return replace(result, accepted_orphans=tuple(self._accept_orphans([tx.txid], now)))

    def accept_batch(
        self, txs: Sequence[Transaction], now: int, verify: VerifyMany | None, caps: FeeCaps = None
    ) -> list[BatchResult]:
        """``accept`` each of ``txs`` in order (with its ``caps`` entry as ``max_fee_rate``),
        signatures verified together first by ``verify`` (``node.mempool_batch``); per
        transaction, its ``AcceptResult`` or the error that refused it."""
        return accept_batch(self, txs, now, verify, caps)

    def accept_package(self, txs: Sequence[Transaction], now: int) -> PackageResult:
        """Core's ``submitpackage`` (``node.mempool_package``); orphans it lets in follow."""
        self._last_now = max(self._last_now, now)
        result = accept_package(self, txs, now)
        if not result.accepted or not len(self.orphans):
            return result
        for txid in result.accepted:
            self.orphans.remove(txid)
        return replace(result, accepted_orphans=tuple(self._accept_orphans(result.accepted, now)))

    def test_accept(
        self, tx: Transaction, now: int, max_fee_rate: int | None = None
    ) -> AcceptResult:
        """Every check of ``accept``, nothing changed: the fee, the size and what it would
        replace, or the error that would refuse it (``MissingInputs`` for unknown inputs: no
        orphan is held)."""
        try:
            return accept_one(self, tx, now, dry_run=True, max_fee_rate=max_fee_rate)
        except MissingParents as missing:
            raise MissingInputs(
                f"{tx.txid_hex} spends outputs of {len(missing.parents)} unknown transaction(s)"
            ) from None

    def restore(self, tx: Transaction, entered: int, now: int) -> AcceptResult:
        """Accept ``tx`` as saved by an earlier run (``node.persist``): every check of
        ``accept`` against today's chain and mempool, but the entry keeps its time ``entered``
        (so it expires when it would have). Never held as an orphan: unknown inputs raise
        ``MissingInputs``."""
        self._last_now = max(self._last_now, now)
        try:
            return accept_one(self, tx, now, entered=min(entered, now))
        except MissingParents as missing:
            raise MissingInputs(
                f"{tx.txid_hex} spends outputs of {len(missing.parents)} unknown transaction(s)"
            ) from None

    def _accept_orphans(self, parents: list[bytes], now: int) -> list[AcceptResult]:
        """Retry orphans that spend the outputs of ``parents`` (and, in turn, of any orphan
        that gets in). Orphans that turn out invalid leave the orphan pool."""
        accepted: list[AcceptResult] = []
        queue = deque(parents)
        while queue and len(self.orphans):
            for orphan in self.orphans.children_of(queue.popleft()):
                if orphan.txid not in self.orphans:
                    continue
                try:
                    result = accept_one(self, orphan, now)
                except MissingParents:
                    continue  # still waiting for another parent
                except (ConsensusError, MempoolError):
                    self.orphans.remove(orphan.txid)
                    continue
                self.orphans.remove(orphan.txid)
                accepted.append(result)
                queue.append(result.txid)
        return accepted

    # --- fee floors ---------------------------------------------------------------------------
    def _check_fee_rate(self, fee: int, size: int, now: int) -> None:
        rolling_milli = round(self.min_fee_rate(now) * 1000)
        if fee * 1000 < rolling_milli * size:
            raise MempoolMinFeeNotMet(
                f"fee {fee} for {size} bytes is below the mempool minimum {rolling_milli / 1000}/B"
            )
        if fee < self.policy.min_relay_fee_rate * size:
            raise MinFeeNotMet(
                f"fee {fee} for {size} bytes is below {self.policy.min_relay_fee_rate}/B"
            )

    def min_fee_rate(self, now: int | None = None) -> float:
        """The rolling minimum fee-rate (units per byte) a new transaction must pay now; 0 when
        nothing has been evicted lately (see ``RollingFeeFloor``)."""
        when = self._last_now if now is None else now
        return self.rolling_floor.current(when, self.graph.total_size, self.policy.max_bytes)

    def _trim(self) -> list[MempoolEntry]:
        """Evict lowest descendant-score packages until within ``max_bytes``."""
        graph = self.graph
        evicted: list[MempoolEntry] = []
        while graph.total_size > self.policy.max_bytes:
            worst = graph.lowest_score()
            if worst is None:
                break
            self.rolling_floor.bump(worst.descendant_fees / worst.descendant_size)
            evicted.extend(graph.remove(graph.with_descendants([worst.txid])))
        return evicted

    # --- leaving ------------------------------------------------------------------------------
    def remove(self, txid: bytes) -> list[bytes]:
        """Remove ``txid`` and its descendants (e.g. a wallet abandoning it); their txids."""
        return self._remove_with_descendants([txid])

    def _remove_with_descendants(self, txids: list[bytes]) -> list[bytes]:
        doomed = self.graph.with_descendants(txids)
        if not doomed:
            return []
        removed = self.graph.remove(doomed)
        self._version += 1
        for entry in removed:
            self.estimator.untrack(entry.txid)
        return [e.txid for e in removed]

    def expire(self, now: int) -> list[bytes]:
        """Remove transactions that entered more than ``expiry_seconds`` before ``now``, with
        their descendants, and expired orphans. Returns the mempool txids removed."""
        self._last_now = max(self._last_now, now)
        self.rolling_floor.decay(now, self.graph.total_size, self.policy.max_bytes)
        self.orphans.expire(now)
        return self._remove_with_descendants(
            self.graph.entered_before(now - self.policy.expiry_seconds)
        )

    def block_connected(
        self, block: Block, height: int | None = None, now: int | None = None
    ) -> list[bytes]:
        """``block`` (at ``height``, by default the tip's) joined the chain: its transactions
        and whatever conflicts with them leave. Returns the txids of the conflicts removed."""
        height = self.chain.tip_height if height is None else height
        removed = self._remove_for_block(block, height)
        self._after_blocks(self._last_now if now is None else now)
        return removed

    def apply_chain_update(
        self,
        disconnected: Sequence[tuple[Block, int]],
        connected: Sequence[tuple[Block, int]],
        now: int,
    ) -> None:
        """The chain's tip moved (a ``node.chain.ChainUpdate``: newest-first disconnected and
        oldest-first connected blocks with heights). An extension removes what the blocks
        confirm; a branch switch is a reorg."""
        if disconnected:
            self.reorg([b for b, _ in disconnected], [b for b, _ in connected], now)
        else:
            for block, height in connected:
                self.block_connected(block, height, now)

    def reorg(self, disconnected: list[Block], connected: list[Block], now: int) -> ReorgResult:
        """The chain switched branches: ``disconnected`` newest first, ``connected`` oldest
        first, the chain view already at the new tip. The connected blocks' transactions and
        conflicts leave; the disconnected blocks' transactions (not coinbases) come back if
        still valid (fee floors and size cap waived, as in Core); then whatever the new chain
        made invalid leaves, and the size cap is enforced."""
        self._last_now = max(self._last_now, now)
        first_height = self.chain.tip_height - len(connected) + 1
        removed: list[bytes] = []
        for offset, block in enumerate(connected):
            removed += self._remove_for_block(block, first_height + offset)
        self._after_blocks(now)
        returned: list[bytes] = []
        for block in reversed(disconnected):
            for tx in block.transactions[1:]:
                try:
                    accept_one(self, tx, now, from_block=True)
                except (ConsensusError, MempoolError, MissingParents):
                    continue
                returned.append(tx.txid)
        self._version += 1
        removed += self._remove_with_descendants(
            invalid_after_reorg(self.graph, self.chain, self.params)
        )
        evicted = self._trim()
        for entry in evicted:
            self.estimator.untrack(entry.txid)
        removed += [e.txid for e in evicted]
        accepted = self._accept_orphans(returned, now)
        entries = self.graph.entries
        return ReorgResult(
            tuple(t for t in returned if t in entries), tuple(removed), tuple(accepted)
        )

    # --- prioritising (Core's prioritisetransaction) ------------------------------------------
    def prioritise(self, txid: bytes, fee_delta: int) -> int:
        """Count ``fee_delta`` more units of fee for ``txid`` wherever fees rank transactions:
        block template selection, eviction, the fee-rate floors and replacement rules; never in
        what it pays. It applies now if ``txid`` is in the mempool, else when it arrives; it is
        forgotten once the transaction is mined. Returns the transaction's total delta (0: none
        left). ``TooManyPrioritised`` for a new txid beyond ``MAX_DELTAS``."""
        before = self.deltas.get(txid, 0)
        if fee_delta and not before and len(self.deltas) >= MAX_DELTAS:
            raise TooManyPrioritised(f"{MAX_DELTAS} transactions are prioritised already")
        total = before + fee_delta
        if total:
            self.deltas[txid] = total
        else:
            self.deltas.pop(txid, None)
        if fee_delta and txid in self.graph.entries:
            self.graph.add_delta(txid, fee_delta)
            self._version += 1
        return total

    def _remove_for_block(self, block: Block, height: int) -> list[bytes]:
        if self.deltas:
            for tx in block.transactions:
                self.deltas.pop(tx.txid, None)
        removed = remove_for_block(self.graph, self.estimator, block, height)
        self.orphans.remove_for_block(block)
        self._version += 1
        return removed

    def _after_blocks(self, now: int) -> None:
        self.rolling_floor.block_arrived(now, self.graph.total_size, self.policy.max_bytes)
        self._version += 1

    # --- block template and fees --------------------------------------------------------------
    def select_for_block(
        self, max_bytes: int, min_fee_rate: float = 0.0
    ) -> tuple[list[Transaction], int]:
        """Transactions for a block template by ancestor fee-rate, parents first, whose sizes
        sum to at most ``max_bytes``, packages paying at least ``min_fee_rate``; and their
        total fee."""
        return select_for_block(self.graph, max_bytes, min_fee_rate)

    def _rates_by_fee(self) -> list[tuple[float, int]]:
        version, rates = self._rates_cache
        if version != self._version:
            entries = self.graph.entries.values()
            rates = sorted(((e.fee / e.size, e.size) for e in entries), reverse=True)
            self._rates_cache = (self._version, rates)
        return rates

    def fee_histogram(self) -> list[tuple[float, int]]:
        """Esplora's ``fee_histogram``: ``(fee-rate, bytes)`` bins, highest fee-rate first."""
        return fee_histogram(self._rates_by_fee())

    def fee_estimates(self) -> dict[int, float]:
        """Fee-rate (units per byte) per confirmation target (Esplora's targets)."""
        floor = max(float(self.policy.min_relay_fee_rate), self.min_fee_rate())
        return combine_estimates(
            self.estimator, self._rates_by_fee(), self.params.max_block_size, floor
        )

    # --- queries ------------------------------------------------------------------------------
    def __contains__(self, txid: object) -> bool:
        return txid in self.graph.entries

    def __len__(self) -> int:
        return len(self.graph.entries)

    def get(self, txid: bytes) -> MempoolEntry | None:
        return self.graph.entries.get(txid)

    def txids(self) -> list[bytes]:
        return list(self.graph.entries)

    def recent(self, count: int = 10) -> list[MempoolEntry]:
        """The last ``count`` transactions to enter that are still here, newest first
        (Esplora's ``/mempool/recent``)."""
        found: list[MempoolEntry] = []
        if count <= 0:
            return found
        seen: set[bytes] = set()
        for txid in reversed(self._recent):
            entry = self.graph.entries.get(txid)
            if entry is not None and txid not in seen:
                seen.add(txid)
                found.append(entry)
                if len(found) == count:
                    break
        return found

    def spender_of(self, outpoint: OutPoint) -> bytes | None:
        """The txid of the mempool transaction spending ``outpoint``, if any."""
        return self.graph.spenders.get(outpoint)

    def ancestors(self, txid: bytes) -> set[bytes]:
        return self.graph.ancestors(txid)

    def descendants(self, txid: bytes) -> set[bytes]:
        return self.graph.descendants(txid)

    def check(self) -> None:
        """Verify every internal index from scratch (tests; raises MempoolInconsistency)."""
        self.graph.check()
        self.orphans.check()

    @property
    def version(self) -> int:
        """Changes whenever the entries change (Core's ``nTransactionsUpdated``)."""
        return self._version

    @property
    def count(self) -> int:
        return len(self.graph.entries)

    @property
    def total_fees(self) -> int:
        """The sum of the fees of the transactions in the mempool (Esplora's ``total_fee``)."""
        return self.graph.total_fees

    @property
    def bytes(self) -> int:
        """The sum of the sizes of the transactions in the mempool."""
        return self.graph.total_size
