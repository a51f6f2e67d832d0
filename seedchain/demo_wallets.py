"""Two demo wallets paying each other through a node's REST API, built on the wallet library
(BIP39 seed, SLIP-0010 keys, coin selection and signing).

Each wallet receives at its first receive address (the pool pays its miner there) and sends
change to fresh change addresses. It spends only coins that are surely mature (100+
confirmations at the receive address, which also gets coinbase payouts) or confirmed change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from consensus.params import REGTEST
from consensus.transaction import OutPoint
from wallet.coinselect import SpendableCoin
from wallet.errors import WalletError
from wallet.keys import Keychain, WalletKey
from wallet.mnemonic import generate_mnemonic, mnemonic_to_seed
from wallet.txbuild import build_payment

MATURITY = 101
FEE_RATE = 2


@dataclass
class DemoWallet:
    name: str
    keys: Keychain = field(init=False)
    change_used: int = 0
    sent: int = 0
    received_payments: int = 0
    spent: set[OutPoint] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.keys = Keychain.from_seed(mnemonic_to_seed(generate_mnemonic()))

    @property
    def receive(self) -> WalletKey:
        return self.keys.receive_key(0)

    @property
    def address(self) -> str:
        return self.receive.address(REGTEST.hrp)

    def _keys(self) -> list[WalletKey]:
        return [self.receive] + [self.keys.change_key(i) for i in range(self.change_used)]

    async def coins(self, session: aiohttp.ClientSession, node: str) -> list[SpendableCoin]:
        tip = int(await _text(session, f"{node}/v1/blocks/tip/height"))
        coins = []
        for key in self._keys():
            for utxo in await _json(session, f"{node}/v1/address/{key.address(REGTEST.hrp)}/utxo"):
                status = utxo["status"]
                if not status.get("confirmed"):
                    continue
                confirmations = tip - status["block_height"] + 1
                if key.key_id.change == 0 and confirmations < MATURITY:
                    continue
                outpoint = OutPoint(bytes.fromhex(utxo["txid"])[::-1], utxo["vout"])
                if outpoint not in self.spent:
                    coins.append(SpendableCoin(outpoint, utxo["value"], key.lock, key.key_id))
        return coins

    async def balance(self, session: aiohttp.ClientSession, node: str) -> tuple[int, int]:
        confirmed = unconfirmed = 0
        for key in self._keys():
            stats = await _json(session, f"{node}/v1/address/{key.address(REGTEST.hrp)}")
            chain, pool = stats["chain_stats"], stats["mempool_stats"]
            confirmed += chain["funded_txo_sum"] - chain["spent_txo_sum"]
            unconfirmed += pool["funded_txo_sum"] - pool["spent_txo_sum"]
        return confirmed, unconfirmed

    async def pay(
        self, session: aiohttp.ClientSession, node: str, to: DemoWallet, rng: random.Random
    ) -> str | None:
        """Send a random amount to ``to``; the txid, or None when nothing is spendable yet or
        the node cannot answer now (503 while it catches up, a busy moment)."""
        try:
            coins = await self.coins(session, node)
        except (aiohttp.ClientError, TimeoutError):
            return None
        if not coins:
            return None
        total = sum(c.value for c in coins)
        amount = rng.randint(total // 100, max(total // 100, total // 10))
        try:
            built = build_payment(
                self.keys, coins, to.receive.lock, amount, FEE_RATE, self.change_used,
                REGTEST.chain_id,
            )  # fmt: skip
        except WalletError:
            return None
        try:
            async with session.post(f"{node}/v1/tx", data=built.tx.encoded.hex()) as response:
                if response.status != 200:
                    return None
        except (aiohttp.ClientError, TimeoutError):
            return None
        self.spent.update(c.outpoint for c in built.coins)
        if built.change_key is not None:
            self.change_used = max(self.change_used, built.change_key.index + 1)
        self.sent += 1
        to.received_payments += 1
        return built.tx.txid_hex


async def _json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        response.raise_for_status()
        return await response.json()


async def _text(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        response.raise_for_status()
        return await response.text()

