"""``seedchain audit``: a pool's found blocks recomputed from its public share log and matched
against the coinbases on a real regtest node (``pool.audit`` and ``seedchain.cmd_audit``)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pool_testkit import ALICE, BOB, OPERATOR, mining, pool_config, running_pool, wait_for
from test_pool_regtest_node import regtest_node

from consensus.params import REGTEST
from pool.audit import audit_block, block_work, carried_balances
from pool.client import StratumMiner
from pool.nodeclient import HttpNodeClient
from seedchain.cli import main

A, B, OP = ALICE.address(), BOB.address(), OPERATOR.address()
BITS = REGTEST.pow_limit_bits


def share(share_id: int, address: str, work: int) -> dict[str, Any]:
    return {"id": share_id, "address": address, "work": work}


def block_row(
    scheme: str, start: int, end: int, credits: list[tuple[str, int, int]], **kw: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "height": 7,
        "hash": "ab" * 32,
        "status": "accepted",
        "scheme": scheme,
        "window_start": start,
        "window_end": end,
        "address": A,
        "reward": 1_000,
        "operator": OP,
        "operator_amount": 10,
        "operator_paid": 10,
        "credits": [
            {"address": a, "amount": amount, "paid": paid, "carry_delta": amount - paid}
            for a, amount, paid in credits
        ],
    }
    row.update(kw)
    return row


PROP_SHARES = [share(4, A, 30), share(5, B, 60), share(6, A, 9)]


def test_a_prop_block_that_pays_the_formula_passes() -> None:
    # fee 1% of 1,000 = 10; 990 split 39:60 -> 390 and 600 (largest remainders)
    row = block_row("prop", 3, 6, [(A, 390, 390), (B, 600, 600)])
    coinbase = [(A, 390), (B, 600), (OP, 10)]
    audit = audit_block(row, PROP_SHARES, fee_ppm=10_000, pplns_n=2, bits=BITS, coinbase=coinbase)
    assert audit.ok, audit.problems
    assert audit.coinbase_checked and audit.shares == 3


def test_each_kind_of_mismatch_is_named() -> None:
    row = block_row("prop", 3, 6, [(A, 391, 391), (B, 600, 600)], operator_paid=8)
    coinbase = [(A, 390), (B, 600), (OP, 10)]
    problems = audit_block(
        row, PROP_SHARES, fee_ppm=10_000, pplns_n=2, bits=BITS, coinbase=coinbase
    ).problems
    assert f"{A} was credited 391, the formula gives 390" in problems
    assert "outputs 991 + operator 8 != reward 1000" in problems
    assert f"the coinbase pays {A} 390, the ledger says 391" in problems
    assert f"the coinbase pays {OP} 10, the ledger says 8" in problems
    # a share outside the window, or out of order
    assert not audit_block(
        row, [share(2, A, 1)], fee_ppm=10_000, pplns_n=2, bits=BITS, coinbase=None
    ).ok
    solo = block_row("solo", 6, 6, [(A, 990, 990)])
    assert audit_block(solo, [], fee_ppm=10_000, pplns_n=2, bits=BITS, coinbase=None).ok
    assert audit_block(
        block_row("solo", 5, 6, [(A, 990, 990)]), [share(6, B, 1)], fee_ppm=10_000, pplns_n=2,
        bits=BITS, coinbase=None,
    ).problems == ["a SOLO block counted 1 shares"]  # fmt: skip


def test_the_pplns_window_is_the_newest_n_times_block_work() -> None:
    work = block_work(BITS)  # 2 on regtest
    # window 2 x 2 = 4: share 9 (3) and part of share 8 (1 of 5)
    shares = [share(8, A, 5), share(9, B, 3)]
    row = block_row("pplns", 7, 9, [(A, 248, 248), (B, 742, 742)])
    assert work == 2
    assert audit_block(row, shares, fee_ppm=10_000, pplns_n=2, bits=BITS, coinbase=None).ok
    wide = block_row("pplns", 6, 9, [(A, 248, 248), (B, 742, 742)])
    problems = audit_block(
        wide, [share(7, A, 1), *shares], fee_ppm=10_000, pplns_n=2, bits=BITS, coinbase=None
    ).problems
    assert "the window holds more than the newest 2 x block work of shares" in problems
    unknown = audit_block(row, shares, fee_ppm=10_000, pplns_n=2, bits=None, coinbase=None)
    assert unknown.problems == [
        "the node does not have the block: its PPLNS window is unknown"
    ]


def test_carried_balances_sum_over_live_blocks() -> None:
    blocks = [
        block_row("prop", 0, 1, [(A, 5, 0)]),
        block_row("prop", 1, 2, [(A, 7, 12), (B, 3, 0)]),
        block_row("prop", 2, 3, [(B, 4, 0)], status="orphaned"),
    ]
    assert carried_balances(blocks, frozenset({"accepted"})) == {B: 3}


async def test_audit_of_a_pool_on_a_real_node_then_of_a_tampered_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with regtest_node(tmp_path / "node") as (node, url):
        config = pool_config(
            tmp_path / "pool", node_url=url, fee_ppm=15_000, scheme="prop", dust=0
        )
        async with running_pool(config, HttpNodeClient(url)) as pool:
            assert pool.stratum_port is not None
            miners = [
                StratumMiner("127.0.0.1", pool.stratum_port, f"{key.address()}.w", threads=1)
                for key in (ALICE, BOB)
            ]
            async with mining(miners):
                await wait_for(lambda: node.chain.height >= 6, deadline=60)
            await pool.blocks.settle()
            argv = ["audit", "--pool", f"http://127.0.0.1:{pool.api_port}", "--node", url]
            capsys.readouterr()
            assert await asyncio.to_thread(main, [*argv, "--json"]) == 0
            report = json.loads(capsys.readouterr().out)
            assert report["ok"] and report["fee_ppm"] == 15_000
            checked = [b for b in report["blocks"] if b["coinbase_checked"]]
            assert len(checked) >= 6 and all(b["ok"] for b in report["blocks"])
            assert sum(b["shares"] for b in report["blocks"]) > 0
            assert report["balances_checked"] >= 1 and not report["balance_problems"]

            # The operator keeps one unit of a miner's output in its ledger: the audit sees it.
            with sqlite3.connect(tmp_path / "pool" / "pool.sqlite3") as db:
                block_hash, address = db.execute(
                    "SELECT block_hash, address FROM credits WHERE paid > 0 LIMIT 1"
                ).fetchone()
                db.execute(
                    "UPDATE credits SET amount = amount - 1, paid = paid - 1"
                    " WHERE block_hash = ? AND address = ?",
                    (block_hash, address),
                )
            assert await asyncio.to_thread(main, argv) == 1
            captured = capsys.readouterr()
            assert "the formula gives" in captured.out and "the coinbase pays" in captured.out
            assert captured.err.strip() == (
                f"error: 1 of {len(report['blocks'])} blocks and 0 of"
                f" {report['balances_checked']} carried balances do not match"
            )
