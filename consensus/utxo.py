"""The UTXO model: coins, views, and connecting / undoing a block as functions over a view.

Standard library (and the other consensus modules) only. ``connect_block`` reads and changes
only the view it is given and returns the undo data that ``undo_block`` needs to restore the
view exactly; a caller that wants all-or-nothing semantics passes a ``CoinsOverlay`` and keeps
or drops its changes.

No BIP 30 check is needed: every coinbase commits to its height, so coinbase txids are unique,
and every other transaction spends an outpoint that can be spent only once, so its txid cannot
recur in the active chain either (Bitcoin Core's BIP 34 reasoning).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, Protocol

from consensus.block import Block
from consensus.coinbase import block_subsidy
from consensus.errors import BadSignature, CoinbaseTooLarge, DoubleSpendInBlock, MissingInputs
from consensus.params import ChainParams
from consensus.signing import verify_batch
from consensus.transaction import OutPoint, Transaction, TxOut
from consensus.tx_rules import check_transaction_inputs, signature_jobs

SignatureJob = tuple[bytes, bytes, bytes]
Verifier = Callable[[Sequence[SignatureJob]], int]


class Coin(NamedTuple):
    """An unspent output and where it came from."""

    value: int
    lock: bytes
    height: int
    coinbase: bool

    @property
    def output(self) -> TxOut:
        return TxOut(self.value, self.lock)


BlockUndo = list[list[Coin]]
"""For each non-coinbase transaction of a block, in order, the coins its inputs spent."""


class CoinView(Protocol):
    def get_coin(self, outpoint: OutPoint) -> Coin | None: ...


class MutableCoinView(CoinView, Protocol):
    def add_coin(self, outpoint: OutPoint, coin: Coin) -> None: ...

    def spend_coin(self, outpoint: OutPoint) -> Coin: ...


class DictCoinView:
    """A whole UTXO set in a dict: for tests, tools and small in-memory chains."""

    def __init__(self, coins: dict[OutPoint, Coin] | None = None) -> None:
        self.coins: dict[OutPoint, Coin] = dict(coins or {})

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        return self.coins.get(outpoint)

    def add_coin(self, outpoint: OutPoint, coin: Coin) -> None:
        self.coins[outpoint] = coin

    def spend_coin(self, outpoint: OutPoint) -> Coin:
        try:
            return self.coins.pop(outpoint)
        except KeyError:
            raise MissingInputs(f"{outpoint} is not unspent") from None


class CoinsOverlay:
    """Changes on top of a base view. Reads fall through to the base; ``changes`` maps each
    touched outpoint to its new coin, or to None where it was spent."""

    def __init__(self, base: CoinView) -> None:
        self.base = base
        self.changes: dict[OutPoint, Coin | None] = {}

    def get_coin(self, outpoint: OutPoint) -> Coin | None:
        if outpoint in self.changes:
            return self.changes[outpoint]
        return self.base.get_coin(outpoint)

    def add_coin(self, outpoint: OutPoint, coin: Coin) -> None:
        self.changes[outpoint] = coin

    def spend_coin(self, outpoint: OutPoint) -> Coin:
        coin = self.get_coin(outpoint)
        if coin is None:
            raise MissingInputs(f"{outpoint} is not unspent")
        self.changes[outpoint] = None
        return coin

    def items(self) -> Iterator[tuple[OutPoint, Coin | None]]:
        return iter(self.changes.items())


def _add_outputs(view: MutableCoinView, tx: Transaction, height: int) -> None:
    txid = tx.txid
    coinbase = tx.is_coinbase
    for index, out in enumerate(tx.outputs):
        view.add_coin(OutPoint(txid, index), Coin(out.value, out.lock, height, coinbase))


def connect_block(
    block: Block,
    height: int,
    view: MutableCoinView,
    params: ChainParams,
    verifier: Verifier | None = verify_batch,
) -> BlockUndo:
    """Spend and create the block's coins in ``view``; return the undo data.

    Assumes ``check_block_sanity`` and ``check_block_contextual`` passed. Raises the rule's
    error (``MissingInputs``, ``DoubleSpendInBlock``, ``ImmatureCoinbaseSpend``,
    ``KeyHashMismatch``, ``InputsBelowOutputs``, ``CoinbaseTooLarge``, ``BadSignature``, ...)
    with ``view`` possibly part-changed: use an overlay to discard. ``verifier`` checks the
    collected signatures (None skips them, for blocks already verified once).
    """
    fees = 0
    undo: BlockUndo = []
    spent_here: set[OutPoint] = set()
    jobs: list[SignatureJob] = []
    job_txids: list[bytes] = []
    for tx in block.transactions[1:]:
        coins: list[Coin] = []
        for outpoint in tx.inputs:
            coin = view.get_coin(outpoint)
            if coin is None:
                if outpoint in spent_here:
                    raise DoubleSpendInBlock(
                        f"{tx.txid_hex} spends {outpoint} spent earlier in the block"
                    )
                raise MissingInputs(f"{tx.txid_hex} spends {outpoint}, which is not unspent")
            coins.append(coin)
        fees += check_transaction_inputs(tx, coins, height, params)
        for outpoint in tx.inputs:
            view.spend_coin(outpoint)
            spent_here.add(outpoint)
        undo.append(coins)
        _add_outputs(view, tx, height)
        if verifier is not None:
            tx_jobs = signature_jobs(tx, [c.output for c in coins], params.chain_id)
            jobs.extend(tx_jobs)
            job_txids.extend([tx.txid] * len(tx_jobs))
    coinbase = block.transactions[0]
    allowed = block_subsidy(height, params.halving_interval) + fees
    if coinbase.total_out() > allowed:
        raise CoinbaseTooLarge(f"coinbase pays {coinbase.total_out()} > subsidy + fees {allowed}")
    _add_outputs(view, coinbase, height)
    if verifier is not None and jobs:
        bad = verifier(jobs)
        if bad >= 0:
            raise BadSignature(f"input signature of {job_txids[bad][::-1].hex()} does not verify")
    return undo


def undo_block(block: Block, undo: BlockUndo, view: MutableCoinView) -> None:
    """Exactly reverse :func:`connect_block` for the same block and undo data."""
    if len(undo) != len(block.transactions) - 1:
        raise ValueError("undo data does not match the block")
    for tx, coins in zip(reversed(block.transactions), reversed([[], *undo]), strict=True):
        txid = tx.txid
        for index in range(len(tx.outputs)):
            view.spend_coin(OutPoint(txid, index))
        for outpoint, coin in zip(tx.inputs, coins, strict=True):
            view.add_coin(outpoint, coin)
