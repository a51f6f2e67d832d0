"""What the chain says about our keys: coins, balances and history, recomputed on every run.

May import ``consensus`` (transaction, hashing) and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``); no I/O. The input is a snapshot: the transactions
touching our addresses as the node reports them (confirmed in the active chain, or in its
mempool — :class:`ChainTx`, parsed in :mod:`wallet.chaintx` and re-exported here), the tip
height, which locks are ours, and the sends we made that may not be there (pending and recent
ones from ``wallet.json``). :func:`build_view` turns it into a :class:`WalletView`.

Nothing about the chain is stored between runs, so a reorg while the wallet was closed needs no
repair: a transaction the new chain no longer holds is simply not reported, or reported as
unconfirmed if it went back to the mempool. Our own sends are remembered (they are the only
transactions we can speak for when the node does not know them) and classified:

- ``confirmed`` / ``unconfirmed``: the node has it in the chain / in its mempool;
- ``conflicted``: the node has neither, and one of its inputs is spent by another transaction
  the node has (a double spend confirmed by a reorg, or a replacement we did not make here);
- ``dropped``: the node has neither and nothing spends its inputs (evicted from the mempool, a
  node restarted, or a reorg that did not put it back): it may be broadcast again.

Balances (integers of base units):

- ``confirmed``: our outputs in the active chain not spent in the active chain (immature
  coinbase outputs included);
- ``unconfirmed``: what the mempool changes: outputs of mempool transactions to us minus our
  outputs the mempool spends (negative while a send of ours is unconfirmed);
- ``immature``: coinbase outputs with fewer than ``maturity`` confirmations (part of
  ``confirmed``; not spendable yet);
- ``spendable``: what a send may use now: mature confirmed coins and the unconfirmed change of
  our own transactions, not spent in the mempool and not reserved by a pending send.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from consensus.hashing import hash_to_hex
from consensus.transaction import OutPoint, Transaction, TxOut
from wallet.chaintx import ChainInput, ChainTx
from wallet.keys import KeyId
from wallet.metadata import PendingSend

__all__ = [
    "CONFIRMED",
    "CONFLICTED",
    "DROPPED",
    "STATUSES",
    "UNCONFIRMED",
    "Balance",
    "ChainInput",
    "ChainTx",
    "HistoryEntry",
    "SendState",
    "WalletCoin",
    "WalletView",
    "build_view",
    "confirmations",
]

CONFIRMED = "confirmed"
UNCONFIRMED = "unconfirmed"
CONFLICTED = "conflicted"
DROPPED = "dropped"
STATUSES = (CONFIRMED, UNCONFIRMED, CONFLICTED, DROPPED)


# --- the view ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class WalletCoin:
    """One of our unspent outputs (as of the mempool view)."""

    outpoint: OutPoint
    value: int
    lock: bytes
    key_id: KeyId
    height: int | None  # None: unconfirmed
    confirmations: int
    coinbase: bool
    mature: bool
    trusted: bool  # confirmed, or the output of a transaction that spends only our coins
    reserved: bool  # an input of a pending send of ours
    frozen: bool = False  # the user froze it, or its address (``wallet freeze``)

    @property
    def spendable(self) -> bool:
        return self.mature and self.trusted and not self.reserved and not self.frozen


@dataclass(frozen=True)
class Balance:
    confirmed: int
    unconfirmed: int
    immature: int
    spendable: int
    reserved: int
    frozen: int = 0

    @property
    def total(self) -> int:
        return self.confirmed + self.unconfirmed

    def to_json(self) -> dict[str, int]:
        return {
            "confirmed": self.confirmed,
            "unconfirmed": self.unconfirmed,
            "total": self.total,
            "immature": self.immature,
            "spendable": self.spendable,
            "reserved": self.reserved,
            "frozen": self.frozen,
        }


@dataclass(frozen=True)
class HistoryEntry:
    """One transaction touching our addresses, from the wallet's point of view."""

    txid: bytes
    status: str  # one of STATUSES
    height: int | None
    confirmations: int
    block_time: int | None
    received: int  # our outputs
    sent: int  # our inputs
    fee: int | None  # when we paid it (every input is ours)
    coinbase: bool
    conflicts_with: bytes | None = None  # CONFLICTED: the transaction spending its input
    replaces: bytes | None = None  # a fee bump of ours: the txid it replaced

    @property
    def net(self) -> int:
        return self.received - self.sent

    def to_json(self) -> dict[str, Any]:
        return {
            "txid": hash_to_hex(self.txid),
            "status": self.status,
            "height": self.height,
            "confirmations": self.confirmations,
            "block_time": self.block_time,
            "net": self.net,
            "received": self.received,
            "sent": self.sent,
            "fee": self.fee,
            "coinbase": self.coinbase,
            "conflicts_with": None
            if self.conflicts_with is None
            else hash_to_hex(self.conflicts_with),
            "replaces": None if self.replaces is None else hash_to_hex(self.replaces),
        }


@dataclass(frozen=True)
class SendState:
    """A send of ours (pending or recent) as the chain sees it now."""

    send: PendingSend
    status: str
    confirmations: int = 0
    conflicts_with: bytes | None = None


@dataclass
class WalletView:
    tip_height: int
    tip_hash: str
    txs: dict[bytes, ChainTx]
    owned: dict[bytes, KeyId]  # lock -> key
    coins: list[WalletCoin]
    balance: Balance
    history: list[HistoryEntry]
    sends: dict[bytes, SendState] = field(default_factory=dict)  # txid -> state

    def spendable_coins(self) -> list[WalletCoin]:
        return [coin for coin in self.coins if coin.spendable]

    def coin(self, outpoint: OutPoint) -> WalletCoin | None:
        for coin in self.coins:
            if coin.outpoint == outpoint:
                return coin
        return None

    def output(self, outpoint: OutPoint) -> TxOut | None:
        """The output ``outpoint`` names, if a transaction the node reported created it."""
        tx = self.txs.get(outpoint.txid)
        if tx is None or outpoint.vout >= len(tx.outputs):
            return None
        return tx.outputs[outpoint.vout]


def confirmations(height: int | None, tip_height: int) -> int:
    return 0 if height is None else max(0, tip_height - height + 1)


def build_view(
    txs: Iterable[ChainTx],
    owned: Mapping[bytes, KeyId],
    tip_height: int,
    tip_hash: str,
    *,
    maturity: int,
    pending: Sequence[PendingSend] = (),
    recent: Sequence[PendingSend] = (),
    frozen_locks: Collection[bytes] = frozenset(),
    frozen_outpoints: Collection[OutPoint] = frozenset(),
) -> WalletView:
    """Coins, balance, history and the state of our sends, from a snapshot (module docstring)."""
    by_txid: dict[bytes, ChainTx] = {}
    for tx in txs:
        known = by_txid.get(tx.txid)
        # The same transaction reached through two addresses: keep the confirmed report.
        if known is None or (tx.confirmed and not known.confirmed):
            by_txid[tx.txid] = tx
    chain_spender: dict[OutPoint, bytes] = {}
    mempool_spender: dict[OutPoint, bytes] = {}
    for tx in by_txid.values():
        spenders = chain_spender if tx.confirmed else mempool_spender
        for vin in tx.inputs:
            spenders[vin.outpoint] = tx.txid

    reserved = {outpoint for send in pending for outpoint in send.inputs}
    coins: list[WalletCoin] = []
    confirmed_sum = 0
    total_sum = 0
    immature = 0
    for tx in by_txid.values():
        tx_confirmations = confirmations(tx.height, tip_height)
        trusted = tx.confirmed or (
            bool(tx.inputs)
            and all(vin.prevout is not None and vin.prevout.lock in owned for vin in tx.inputs)
        )
        for vout, out in enumerate(tx.outputs):
            key_id = owned.get(out.lock)
            if key_id is None:
                continue
            outpoint = OutPoint(tx.txid, vout)
            if outpoint in chain_spender:
                continue
            mature = not tx.coinbase or tx_confirmations >= maturity
            if tx.confirmed:
                confirmed_sum += out.value
                if not mature:
                    immature += out.value
            if outpoint in mempool_spender:
                continue
            total_sum += out.value
            coins.append(
                WalletCoin(
                    outpoint,
                    out.value,
                    out.lock,
                    key_id,
                    tx.height,
                    tx_confirmations,
                    tx.coinbase,
                    mature,
                    trusted,
                    outpoint in reserved,
                    out.lock in frozen_locks or outpoint in frozen_outpoints,
                )
            )
    coins.sort(key=lambda c: (c.height is None, -(c.height or 0), c.outpoint.key()))
    balance = Balance(
        confirmed=confirmed_sum,
        unconfirmed=total_sum - confirmed_sum,
        immature=immature,
        spendable=sum(c.value for c in coins if c.spendable),
        reserved=sum(c.value for c in coins if c.reserved),
        frozen=sum(c.value for c in coins if c.frozen),
    )

    replaced_by_bump = {s.replaces for s in [*recent, *pending] if s.replaces is not None}
    sends: dict[bytes, SendState] = {}
    for send in [*recent, *pending]:
        sends[send.txid] = _send_state(send, by_txid, chain_spender, mempool_spender, tip_height)
    history = [_entry(tx, owned, tip_height, sends.get(tx.txid)) for tx in by_txid.values()]
    for state in sends.values():
        if state.status in (CONFLICTED, DROPPED) and state.send.txid not in replaced_by_bump:
            history.append(_send_entry(state, owned))
    history.sort(key=_history_order)
    return WalletView(tip_height, tip_hash, by_txid, dict(owned), coins, balance, history, sends)


def _send_state(
    send: PendingSend,
    by_txid: Mapping[bytes, ChainTx],
    chain_spender: Mapping[OutPoint, bytes],
    mempool_spender: Mapping[OutPoint, bytes],
    tip_height: int,
) -> SendState:
    tx = by_txid.get(send.txid)
    if tx is not None:
        if tx.confirmed:
            return SendState(send, CONFIRMED, confirmations(tx.height, tip_height))
        return SendState(send, UNCONFIRMED)
    for outpoint in send.inputs:
        spender = chain_spender.get(outpoint) or mempool_spender.get(outpoint)
        if spender is not None and spender != send.txid:
            spender_tx = by_txid[spender]
            return SendState(
                send,
                CONFLICTED,
                confirmations(spender_tx.height, tip_height),
                conflicts_with=spender,
            )
    return SendState(send, DROPPED)


def _entry(
    tx: ChainTx, owned: Mapping[bytes, KeyId], tip_height: int, state: SendState | None
) -> HistoryEntry:
    received = sum(out.value for out in tx.outputs if out.lock in owned)
    ours = [vin for vin in tx.inputs if vin.prevout is not None and vin.prevout.lock in owned]
    sent = sum(vin.prevout.value for vin in ours if vin.prevout is not None)
    paid = bool(tx.inputs) and len(ours) == len(tx.inputs)
    return HistoryEntry(
        txid=tx.txid,
        status=CONFIRMED if tx.confirmed else UNCONFIRMED,
        height=tx.height,
        confirmations=confirmations(tx.height, tip_height),
        block_time=tx.block_time,
        received=received,
        sent=sent,
        fee=tx.fee if paid else None,
        coinbase=tx.coinbase,
        replaces=None if state is None else state.send.replaces,
    )


def _send_entry(state: SendState, owned: Mapping[bytes, KeyId]) -> HistoryEntry:
    """A send of ours the node does not have: its amounts come from its own bytes and fee
    (every input of a send of ours is ours, so what it spent is its outputs plus its fee)."""
    send = state.send
    tx = Transaction.decode(send.raw)
    received = sum(out.value for out in tx.outputs if out.lock in owned)
    return HistoryEntry(
        txid=send.txid,
        status=state.status,
        height=None,
        confirmations=0,
        block_time=None,
        received=received,
        sent=tx.total_out() + send.fee,
        fee=send.fee,
        coinbase=False,
        conflicts_with=state.conflicts_with,
        replaces=send.replaces,
    )


def _history_order(entry: HistoryEntry) -> tuple[int, int, bytes]:
    """Newest first: unconfirmed, then conflicted and dropped, then by height descending;
    ties by txid (the node's order inside a block is not known across addresses)."""
    group = {UNCONFIRMED: 0, CONFLICTED: 1, DROPPED: 1, CONFIRMED: 2}[entry.status]
    return group, -(entry.height or 0), entry.txid
