"""Two real Stratum miners (``pool.client.StratumMiner`` on ``mining.Miner``, 1 and 3 threads)
mine on one pool until 5 blocks are found; every block's coinbase must equal the scheme's
formula recomputed here, independently, from the pool's public share log, to the unit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pool_testkit import (
    ALICE,
    BOB,
    OPERATOR,
    FakeChain,
    FakeNodeClient,
    bits_for_work,
    mining,
    pool_config,
    running_pool,
    wait_for,
)

from consensus.addresses import address_to_lock
from consensus.hashing import hex_to_hash
from consensus.nonce_search import HASHLIB, resolve_backend
from consensus.pow import compact_to_target
from consensus.transaction import TxOut
from pool.client import StratumMiner

FEE_PPM = 15_000  # 1.5 %
PPLNS_N = 2
BLOCKS = 5


async def fetch_all(api: str, path: str, key: str, cursor: str) -> list[dict[str, Any]]:
    """Every item of a paged pool API list, following its ``next_<cursor>``."""
    items: list[dict[str, Any]] = []
    query = "?limit=100"
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{api}{path}{query}") as resp:
                assert resp.status == 200, await resp.text()
                page = await resp.json()
            items.extend(page[key])
            following = page[f"next_{cursor}"]
            if following is None:
                return items
            query = f"?limit=100&{cursor}={following}"


def recompute(
    scheme: str,
    block: dict[str, Any],
    earlier: list[dict[str, Any]],
    shares: list[dict[str, Any]],
    reward: int,
    bits: int,
) -> list[TxOut]:
    """The scheme's formula (docs/pool.md), written again from the description."""
    counted = [s for s in shares if s["id"] <= block["window_end"]]
    weights: dict[str, int] = {}
    if scheme == "pplns":
        window = PPLNS_N * ((1 << 256) // (compact_to_target(bits) + 1))
        for share in sorted(counted, key=lambda s: s["id"], reverse=True):
            if window <= 0:
                break
            take = min(share["work"], window)
            weights[share["address"]] = weights.get(share["address"], 0) + take
            window -= take
    else:  # prop: the shares after the previous pool block's window
        start = max((b["window_end"] for b in earlier), default=0)
        for share in counted:
            if share["id"] > start:
                weights[share["address"]] = weights.get(share["address"], 0) + share["work"]
    total_weight = sum(weights.values())
    if total_weight == 0:
        return [TxOut(reward, OPERATOR.lock)]
    fee = reward * FEE_PPM // 1_000_000
    pot = reward - fee
    amounts = {a: pot * w // total_weight for a, w in weights.items()}
    leftover = pot - sum(amounts.values())
    by_remainder = sorted(weights, key=lambda a: (-(pot * weights[a] % total_weight), a))
    for address in by_remainder[:leftover]:
        amounts[address] += 1
    outputs = [TxOut(amounts[a], address_to_lock(a, "rsc")) for a in sorted(amounts)]
    if fee:
        outputs.append(TxOut(fee, OPERATOR.lock))
    return outputs


@pytest.mark.parametrize("scheme", ["pplns", "prop"])
async def test_two_miners_five_blocks_pay_the_formula(tmp_path: Path, scheme: str) -> None:
    native = resolve_backend() != HASHLIB  # what mining.Miner will use here
    block_hashes = 2**24 if native else 2**19  # about 64 shares a block either way
    bits = bits_for_work(block_hashes)
    chain = FakeChain(bits)
    config = pool_config(
        tmp_path,
        scheme=scheme,
        fee_ppm=FEE_PPM,
        pplns_n=PPLNS_N,
        dust=1_000,
        difficulty=block_hashes / 64 / 2**32,
    )
    async with running_pool(config, FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        miners = [
            StratumMiner("127.0.0.1", pool.stratum_port, ALICE.address() + ".one", threads=1),
            StratumMiner("127.0.0.1", pool.stratum_port, BOB.address() + ".three", threads=3),
        ]
        async with mining(miners):
            await wait_for(lambda: chain.height >= BLOCKS, deadline=75)
        assert all(m.accepted > 0 for m in miners)
        api = f"http://127.0.0.1:{pool.api_port}"
        shares = await fetch_all(api, "/v1/pool/shares", "shares", "after")
        blocks = await fetch_all(api, "/v1/pool/blocks", "blocks", "before_height")
        miner_info = await fetch_all_miner(api, ALICE.address())

    live = sorted(
        (b for b in blocks if b["status"] in ("accepted", "confirmed")), key=lambda b: b["height"]
    )
    best = {block.hash: block for block in chain.best_chain()[1:]}
    assert len(best) >= BLOCKS and {hex_to_hash(b["hash"]) for b in live} == set(best)
    assert {s["address"] for s in shares} == {ALICE.address(), BOB.address()}
    assert any(b["window_end"] > 0 for b in live)  # shares were paid, not only the operator
    for index, row in enumerate(live):
        block = best[hex_to_hash(row["hash"])]
        reward = chain.reward(row["height"], block.transactions[1:])
        expected = recompute(scheme, row, live[:index], shares, reward, bits)
        assert list(block.transactions[0].outputs) == expected, (scheme, row["height"])
        assert all(c["carry_delta"] == 0 for c in row["credits"])
    alice_paid = sum(
        out.value
        for block in best.values()
        for out in block.transactions[0].outputs
        if out.lock == ALICE.lock
    )
    assert miner_info["paid"]["immature"] == alice_paid


async def fetch_all_miner(api: str, address: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{api}/v1/pool/miners/{address}") as resp,
    ):
        assert resp.status == 200
        data: dict[str, Any] = await resp.json()
        return data
