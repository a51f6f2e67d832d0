"""Anti-fee-sniping (Bitcoin Core's and Electrum's): a new transaction of ours is locked to the
tip's height, one time in ten up to 99 blocks less, and to 0 while the node is not current."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from consensus.transaction import COIN
from tests.unit.wallet.test_wallet_engine import OTHER, funded
from wallet.sending import send_locktime
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
