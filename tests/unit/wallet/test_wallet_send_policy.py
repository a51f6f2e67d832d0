"""What Core's and Electrum's wallets do with every send: anti-fee-sniping (a new transaction is
locked to the tip's height, one time in ten up to 99 blocks less, and to 0 while the node is not
current), and coin eligibility (confirmed coins first; our unconfirmed change only when they
fall short)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from consensus.transaction import COIN, OutPoint
from tests.unit.wallet.test_wallet_engine import OTHER, funded
from wallet.coinselect import SpendableCoin
from wallet.errors import InsufficientFunds
from wallet.keys import KeyId
from wallet.sending import _preferring_confirmed, send_locktime
from wallet.sync import MAX_TIP_AGE, ScanResult, is_current


def session_at(height: int, current: bool = True) -> Any:
    scan = ScanResult("regtest", height, "00" * 32, [], {}, current=current)
    return SimpleNamespace(scan=scan)


def test_the_tip_height_and_now_and_then_a_little_less() -> None:
    rng = random.Random(11)
    draws = [send_locktime(session_at(5_000), rng) for _ in range(5_000)]
    assert all(4_901 <= draw <= 5_000 for draw in draws)
    backdated = sum(draw < 5_000 for draw in draws)
    assert 350 < backdated < 600  # ~10% (each back-dating is 0 to 99 blocks: ~1% are 0)
    assert len(set(draws)) > 90
    assert all(0 <= send_locktime(session_at(3), rng) <= 3 for _ in range(200))


def test_zero_when_the_node_is_not_current() -> None:
    assert send_locktime(session_at(5_000, current=False)) == 0
    no_sync: Any = SimpleNamespace(scan=None)
    assert send_locktime(no_sync) == 0
    now = 1_900_000_000
    assert is_current({"height": 5, "initial_block_download": False, "median_time": now}, now)
    assert not is_current({"initial_block_download": True, "median_time": now}, now)
    assert not is_current({"median_time": now - MAX_TIP_AGE}, now)
    assert is_current({"median_time": now - MAX_TIP_AGE + 60}, now)
    assert is_current({"height": 5}, now)  # a node that does not say


async def test_a_send_is_locked_to_the_tip(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    heights = []
    for _ in range(8):
        await session.send_many([(OTHER.address(), COIN)], 1)
        heights.append(node.mempool[-1].locktime)
    assert all(node.height - 99 <= h <= node.height for h in heights)
    assert node.height in heights


def test_confirmed_coins_first_then_our_unconfirmed_change() -> None:
    """Core's coin eligibility: unconfirmed change only when the confirmed coins fall short."""

    def coin(n: int, value: int, confirmed: bool) -> SpendableCoin:
        return SpendableCoin(
            OutPoint(bytes([n]) * 32, 0), value, b"\\x00" * 21, KeyId(0, n), confirmed
        )

    change = coin(1, 90, False)
    small, other = coin(2, 10, True), coin(3, 20, True)
    tried: list[list[SpendableCoin]] = []

    def build_for(amount: int) -> Callable[[list[SpendableCoin]], list[SpendableCoin]]:
        def build(usable: list[SpendableCoin]) -> list[SpendableCoin]:
            tried.append(usable)
            if sum(c.value for c in usable) < amount:
                raise InsufficientFunds(sum(c.value for c in usable), amount, "short")
            return usable

        return build

    assert _preferring_confirmed([change, small, other], build_for(25)) == [small, other]
    assert tried == [[small, other]]
    tried.clear()
    assert _preferring_confirmed([change, small, other], build_for(50)) == [change, small, other]
    assert tried == [[small, other], [change, small, other]]  # then the change too
    tried.clear()
    assert _preferring_confirmed([small, other], build_for(5)) == [small, other]
    assert len(tried) == 1  # every coin confirmed: one try


async def test_a_send_spends_unconfirmed_change_when_it_must(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    first = await session.send_many([(OTHER.address(), 60 * COIN)], 1)  # both coinbases
    assert first.change is not None
    await session.send_many([(OTHER.address(), 10 * COIN)], 1)
    assert node.mempool[-1].inputs[0].txid == first.txid  # the change of the first
