"""An in-memory stand-in for a node's REST API, for the wallet engine's unit tests.

It keeps a chain of blocks (lists of transactions, coinbase first) and a mempool, answers the
calls of ``wallet.sync.NodeApi`` in the API's Esplora shapes, accepts transactions with the
rules the wallet cares about (inputs exist and are unspent, coinbase maturity, full RBF with a
higher fee) and can reorganise: ``reorg(depth, blocks)`` replaces the last ``depth`` blocks,
puts their transactions back into the mempool when they are still valid, and drops mempool
transactions that conflict with the new chain. Signatures are not checked here (the live-node
tests and the consensus tests do that).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from consensus.addresses import address_to_lock, lock_to_address
from consensus.coinbase import make_coinbase
from consensus.hashing import hash_to_hex
from consensus.params import REGTEST, ChainParams
from consensus.transaction import COIN, OutPoint, Transaction, TxOut
from wallet.errors import BroadcastRejected, NodeUnreachable

BURN = b"\x00" + bytes(20)
SUBSIDY = 50 * COIN


@dataclass
class Output:
    out: TxOut
    height: int | None
    coinbase: bool


class FakeNode:
    url = "http://fake.invalid:1"

    def __init__(self, params: ChainParams = REGTEST, network: str | None = None) -> None:
        self.params = params
        self.network = network or params.name
        self.blocks: list[list[Transaction]] = [[]]  # height 0: an empty genesis
        self.mempool: list[Transaction] = []
        self.broadcasts: list[Transaction] = []
        self.estimates: dict[int, float] = {1: 2.0, 6: 1.0, 144: 1.0}
        self.history_calls = 0
        self.reject: tuple[int, str] | None = None  # refuse every broadcast with this
        self.forget_broadcasts = False  # accept, but do not keep (an eviction)
        self.down = False
        self.on_broadcast: Any = None  # called with the transaction before it is accepted
        self._tip_serial = 0

    # --- chain building -----------------------------------------------------------------------
    @property
    def height(self) -> int:
        return len(self.blocks) - 1

    def tip(self) -> str:
        digest = hashlib.sha256()
        for block in self.blocks:
            for tx in block:
                digest.update(tx.txid)
            digest.update(b"|")
        return digest.hexdigest()

    def mine(
        self, lock: bytes = BURN, *, txs: Sequence[Transaction] | None = None, tag: bytes = b""
    ) -> list[Transaction]:
        """A block at the tip paying ``lock``, with ``txs`` (default: the whole mempool)."""
        height = self.height + 1
        coinbase = make_coinbase(height, [TxOut(SUBSIDY, lock)], tag=tag)
        chosen = list(self.mempool) if txs is None else list(txs)
        self.blocks.append([coinbase, *chosen])
        ids = {tx.txid for tx in chosen}
        self.mempool = [tx for tx in self.mempool if tx.txid not in ids]
        self._clean_mempool()
        return [coinbase, *chosen]

    def mine_many(self, count: int, lock: bytes = BURN) -> None:
        for _ in range(count):
            self.mine(lock)

    def reorg(
        self, depth: int, blocks: Sequence[Sequence[Transaction]], lock: bytes = BURN
    ) -> None:
        """Replace the last ``depth`` blocks by ``len(blocks)`` new ones holding ``blocks``."""
        removed = self.blocks[len(self.blocks) - depth :]
        del self.blocks[len(self.blocks) - depth :]
        for index, txs in enumerate(blocks):
            self.mine(lock, txs=list(txs), tag=b"fork%d" % index)
        back = [tx for block in removed for tx in block[1:]]
        for tx in back:
            in_mempool = {o for t in self.mempool for o in t.inputs}
            if (
                self._check(tx) is None
                and tx.txid not in self._chain_txids()
                and not set(tx.inputs) & in_mempool
            ):
                self.mempool.append(tx)
        self._clean_mempool()

    # --- state --------------------------------------------------------------------------------
    def _chain_txids(self) -> set[bytes]:
        return {tx.txid for block in self.blocks for tx in block}

    def outputs(self, *, mempool: bool = True) -> dict[OutPoint, Output]:
        result: dict[OutPoint, Output] = {}
        for height, block in enumerate(self.blocks):
            for tx in block:
                for vout, out in enumerate(tx.outputs):
                    result[OutPoint(tx.txid, vout)] = Output(out, height, tx.is_coinbase)
        if mempool:
            for tx in self.mempool:
                for vout, out in enumerate(tx.outputs):
                    result[OutPoint(tx.txid, vout)] = Output(out, None, False)
        return result

    def chain_spent(self) -> set[OutPoint]:
        return {o for block in self.blocks for tx in block for o in tx.inputs}

    def _check(self, tx: Transaction) -> tuple[int, str] | None:
        """None if ``tx`` could enter the mempool (conflicts aside), else (status, code)."""
        outputs = self.outputs()
        spent = self.chain_spent()
        total = 0
        for outpoint in tx.inputs:
            if outpoint in spent:
                return 409, "missing_inputs"
            found = outputs.get(outpoint)
            if found is None:
                return 400, "missing_inputs"
            if (
                found.coinbase
                and found.height is not None
                and self.height + 1 - found.height < self.params.coinbase_maturity
            ):
                return 400, "immature_coinbase_spend"
            total += found.out.value
        if total < tx.total_out():
            return 400, "inputs_below_outputs"
        return None

    def fee(self, tx: Transaction) -> int:
        outputs = self.outputs()
        return sum(outputs[o].out.value for o in tx.inputs) - tx.total_out()

    def _clean_mempool(self) -> None:
        """Drop mempool transactions the chain conflicts with (and their descendants)."""
        changed = True
        while changed:
            changed = False
            spent = self.chain_spent()
            chain = self._chain_txids()
            for tx in list(self.mempool):
                keep = [t for t in self.mempool if t is not tx]
                known = self.outputs()
                if tx.txid in chain or any(o in spent or (o not in known) for o in tx.inputs):
                    self.mempool = keep
                    changed = True
                    break

    def _descendants(self, txid: bytes) -> set[bytes]:
        found = {txid}
        grew = True
        while grew:
            grew = False
            for tx in self.mempool:
                if tx.txid not in found and any(o.txid in found for o in tx.inputs):
                    found.add(tx.txid)
                    grew = True
        return found

    def accept(self, tx: Transaction) -> None:
        if any(t.txid == tx.txid for t in self.mempool):
            return
        problem = self._check(tx)
        if problem is not None:
            raise BroadcastRejected(
                f"the node refused the transaction: {problem[1]}",
                status=problem[0],
                api_code=problem[1],
            )
        conflicts = {t.txid for t in self.mempool if set(t.inputs) & set(tx.inputs)}
        if conflicts:
            evicted: set[bytes] = set()
            for txid in conflicts:
                evicted |= self._descendants(txid)
            old_fee = sum(self.fee(t) for t in self.mempool if t.txid in evicted)
            new_fee = self.fee(tx)
            if new_fee < old_fee + tx.size:
                raise BroadcastRejected(
                    "the node refused the transaction: rbf_insufficient_fee",
                    status=409,
                    api_code="rbf_insufficient_fee",
                )
            self.mempool = [t for t in self.mempool if t.txid not in evicted]
        self.mempool.append(tx)

    # --- the API --------------------------------------------------------------------------------
    def _up(self) -> None:
        if self.down:
            raise NodeUnreachable(f"cannot reach the node at {self.url}: connection refused")

    async def chain(self) -> dict[str, Any]:
        self._up()
        return {"network": self.network, "height": self.height, "tip": self.tip()}

    async def tip_hash(self) -> str:
        self._up()
        return self.tip()

    async def fee_estimates(self) -> dict[int, float]:
        self._up()
        return dict(self.estimates)

    async def broadcast(self, raw: bytes) -> str:
        self._up()
        tx = Transaction.decode(raw)
        self.broadcasts.append(tx)
        if self.on_broadcast is not None:
            self.on_broadcast(tx)
        if self.reject is not None:
            status, code = self.reject
            raise BroadcastRejected(
                f"the node refused the transaction: {code}", status=status, api_code=code
            )
        self.accept(tx)
        if self.forget_broadcasts:
            self.mempool = [t for t in self.mempool if t.txid != tx.txid]
        return tx.txid_hex

    async def test_transaction(self, raw: bytes) -> dict[str, Any]:
        self._up()
        tx = Transaction.decode(raw)
        if self.reject is not None:
            return {"txid": tx.txid_hex, "allowed": False, "reject_reason": self.reject[1],
                    "message": self.reject[1]}  # fmt: skip
        return {"txid": tx.txid_hex, "allowed": True, "size": tx.size}

    async def address_history(self, address: str) -> list[Any]:
        self._up()
        self.history_calls += 1
        lock = address_to_lock(address, self.params.hrp)
        outputs = self.outputs()
        result = []
        for tx in reversed(self.mempool):
            if self._touches(tx, lock, outputs):
                result.append(self.tx_json(tx, None, outputs))
        for height in range(self.height, -1, -1):
            for tx in reversed(self.blocks[height]):
                if self._touches(tx, lock, outputs):
                    result.append(self.tx_json(tx, height, outputs))
        return result

    @staticmethod
    def _touches(tx: Transaction, lock: bytes, outputs: dict[OutPoint, Output]) -> bool:
        if any(out.lock == lock for out in tx.outputs):
            return True
        return any(o in outputs and outputs[o].out.lock == lock for o in tx.inputs)

    def tx_json(
        self, tx: Transaction, height: int | None, outputs: dict[OutPoint, Output]
    ) -> dict[str, Any]:
        def out_json(out: TxOut) -> dict[str, Any]:
            return {
                "scriptpubkey": out.lock.hex(),
                "scriptpubkey_address": lock_to_address(out.lock, self.params.hrp),
                "scriptpubkey_type": "v0_keyhash",
                "value": out.value,
            }

        vin = []
        for outpoint in tx.inputs:
            prev = outputs.get(outpoint)
            vin.append(
                {
                    "txid": hash_to_hex(outpoint.txid),
                    "vout": outpoint.vout,
                    "prevout": None if prev is None else out_json(prev.out),
                    "witness": [],
                    "is_coinbase": False,
                }
            )
        status: dict[str, Any] = {"confirmed": False}
        if height is not None:
            status = {
                "confirmed": True,
                "block_height": height,
                "block_hash": f"{height:064x}",
                "block_time": 1_800_000_000 + height,
            }
        fee = (
            0
            if tx.is_coinbase
            else sum(outputs[o].out.value for o in tx.inputs if o in outputs) - tx.total_out()
        )
        return {
            "txid": tx.txid_hex,
            "version": tx.version,
            "locktime": tx.locktime,
            "is_coinbase": tx.is_coinbase,
            "size": tx.size,
            "weight": 4 * tx.size,
            "fee": fee,
            "vin": vin,
            "vout": [out_json(out) for out in tx.outputs],
            "status": status,
        }
