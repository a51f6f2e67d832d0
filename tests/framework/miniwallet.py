"""``MiniWallet``: a one-key wallet for functional tests (after Bitcoin Core's MiniWallet).

It learns its coins from the blocks it has mined through a ``TestNode`` and from the
transactions it makes itself, and builds signed transactions with ``factory.spend``. It never
asks a node for its balance: the test knows exactly what it did.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.params import REGTEST, ChainParams
from consensus.transaction import OutPoint, Transaction, TxOut
from tests.framework.factory import Key, spend
from tests.framework.testnode import TestNode

DEFAULT_FEE = 2_000


@dataclass
class Utxo:
    outpoint: OutPoint
    output: TxOut
    height: int | None  # None: unconfirmed (made by this wallet)
    coinbase: bool = False


class MiniWallet:
    def __init__(self, key_index: int = 7, params: ChainParams = REGTEST) -> None:
        self.key = Key.from_index(key_index)
        self.params = params
        self.address = self.key.address(params)
        self.utxos: list[Utxo] = []

    async def generate(self, node: TestNode, count: int) -> list[str]:
        """Mine ``count`` blocks at ``node`` paying this wallet; remember their coinbases."""
        start = await node.height()
        hashes = await node.generate(count, self.address)
        for offset, block_hash in enumerate(hashes, start=1):
            block = await node.get_block(block_hash)
            assert block is not None
            coinbase = block.transactions[0]
            self.utxos.append(
                Utxo(OutPoint(coinbase.txid, 0), coinbase.outputs[0], start + offset, True)
            )
        return hashes

    def spendable(self, tip_height: int) -> list[Utxo]:
        """Coins a transaction in the next block (at ``tip_height + 1``) may spend."""
        maturity = self.params.coinbase_maturity
        return [
            u
            for u in self.utxos
            if not u.coinbase or (u.height is not None and tip_height + 1 - u.height >= maturity)
        ]

    def _take(self, tip_height: int, utxo: Utxo | None) -> Utxo:
        if utxo is None:
            coins = self.spendable(tip_height)
            if not coins:
                raise RuntimeError("MiniWallet has no spendable coin: generate 101 blocks first")
            utxo = max(coins, key=lambda u: u.output.value)
        self.utxos.remove(utxo)
        return utxo

    def create_self_transfer(
        self, tip_height: int, *, fee: int = DEFAULT_FEE, utxo: Utxo | None = None,
        outputs: int = 1,
    ) -> Transaction:
        """Spend one coin back to this wallet in ``outputs`` equal outputs (all remembered as
        new unconfirmed coins, so the next transaction may chain on them)."""
        coin = self._take(tip_height, utxo)
        value = (coin.output.value - fee) // outputs
        if value <= 1000:
            raise RuntimeError("coin too small for this transaction")
        tx = spend(
            [(coin.outpoint, coin.output, self.key)],
            [TxOut(value, self.key.lock)] * outputs,
            self.params,
        )
        for index, out in enumerate(tx.outputs):
            self.utxos.append(Utxo(OutPoint(tx.txid, index), out, None))
        return tx

    def create_bad_signature(self, tip_height: int) -> Transaction:
        """A transaction spending a real coin whose signature is wrong (the coin stays ours)."""
        coin = self._take(tip_height, None)
        self.utxos.append(coin)
        tx = spend(
            [(coin.outpoint, coin.output, self.key)],
            [TxOut(coin.output.value - DEFAULT_FEE, self.key.lock)],
            self.params,
        )
        witness = tx.witnesses[0]
        broken = bytes([witness.signature[0] ^ 1]) + witness.signature[1:]
        return tx.with_witnesses((witness._replace(signature=broken),))
