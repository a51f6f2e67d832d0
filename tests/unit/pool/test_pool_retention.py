"""Pruning the share log (``pool.retention``, ``seedchain pool --prune-shares N``): only shares
that no payout, audit or statistic still reads are deleted, and a pool restarted on the pruned
log pays exactly what it paid before."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pool_testkit import (
    ALICE,
    BOB,
    FakeChain,
    FakeNodeClient,
    bits_for_work,
    mining,
    pool_config,
    running_pool,
    wait_for,
)

from consensus.nonce_search import HASHLIB, resolve_backend
from pool.accounting import Accounting
from pool.audit import audit_block
from pool.client import StratumMiner
from pool.errors import ConfigError
from pool.retention import Needs, prune_batch, prune_floor, pruned_upto
from pool.sharelog import BlockRecord, ShareLog, ShareRecord, _set_status, _write_batch

A, B = ALICE.address(), BOB.address()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    log = ShareLog(tmp_path / "pool.sqlite3")
    log._open("regtest")
    assert log._db is not None
    yield log._db
    log._close()


def add_shares(db: sqlite3.Connection, count: int, time: float = 1_000.0) -> list[int]:
    share = ShareRecord(time, A, "w", 1.0, 10, "j", 5, "00" * 32)
    return _write_batch(db, [(share, None)] * count)


def add_block(db: sqlite3.Connection, name: str, start: int, end: int, status: str) -> None:
    share = ShareRecord(1_000.0, A, "w", 1.0, 10, "j", 5, "00" * 32, is_block=True)
    block = BlockRecord(
        name * 64, 5, "j", "pplns", start, end, 100, A, 0, 0, A, "w", b"", credits=()
    )
    _write_batch(db, [(share, block)])
    _set_status(db, name * 64, status, 2_000.0)


def needs(**overrides: Any) -> Needs:
    base: dict[str, Any] = dict(keep_blocks=2, scheme="pplns", needed_after=None, time_from=1e9)
    base.update(overrides)
    return Needs(**base)


def test_the_floor_is_the_lowest_of_what_is_still_needed(db: sqlite3.Connection) -> None:
    add_shares(db, 100)  # ids 1..100
    # nothing else needs anything: every share but the newest may go (its id keeps ids unique)
    assert prune_floor(db, needs()) == 99
    assert prune_floor(db, needs(needed_after=40)) == 40
    add_block(db, "a", 10, 20, "confirmed")  # id 101
    add_block(db, "b", 30, 40, "orphaned")  # id 102
    add_block(db, "c", 60, 70, "accepted")  # id 103
    # the windows of the newest 2 blocks (b, c), whatever their status
    assert prune_floor(db, needs()) == 30
    assert prune_floor(db, needs(keep_blocks=1)) == 60
    assert prune_floor(db, needs(keep_blocks=3)) == 10
    assert prune_floor(db, needs(keep_blocks=1, needed_after=55)) == 55
    # PROP: back to the newest confirmed block's window end (c may still be orphaned)
    assert prune_floor(db, needs(keep_blocks=1, scheme="prop")) == 20
    # the last day's shares stay
    add_shares(db, 10, time=5_000.0)  # ids 104..113
    assert prune_floor(db, needs(keep_blocks=1, time_from=4_000.0)) == 60
    assert prune_floor(db, needs(keep_blocks=1, needed_after=200, time_from=4_000.0)) == 60
    db.execute("DELETE FROM blocks")
    assert prune_floor(db, needs(time_from=4_000.0)) == 103
    # PROP before any confirmed block: the whole round stays
    assert prune_floor(db, needs(scheme="prop")) == 0


def test_pruning_goes_in_batches_and_never_reuses_an_id(db: sqlite3.Connection) -> None:
    add_shares(db, 25)
    assert pruned_upto(db) == 0
    assert prune_batch(db, 24, batch=10) == 10
    assert pruned_upto(db) == 10
    assert prune_batch(db, 24, batch=10) == 10
    assert prune_batch(db, 24, batch=10) == 4
    assert pruned_upto(db) == 24
    assert [row[0] for row in db.execute("SELECT id FROM shares")] == [25]
    assert prune_batch(db, 5) == 0 and pruned_upto(db) == 24  # it never goes back
    assert add_shares(db, 2) == [26, 27]


def test_a_negative_prune_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--prune-shares"):
        pool_config(tmp_path, prune_shares=-1)


async def get(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_a_pruned_pplns_pool_pays_and_audits_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pool.service.KEEP_SECONDS", 0.0)
    native = resolve_backend() != HASHLIB
    block_hashes = 2**22 if native else 2**17  # about 16 shares a block
    chain = FakeChain(bits_for_work(block_hashes))
    config = pool_config(
        tmp_path,
        scheme="pplns",
        pplns_n=2,
        prune_shares=2,
        hashrate_window=0.001,
        difficulty=block_hashes / 16 / 2**32,
    )
    async with running_pool(config, FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        miners = [
            StratumMiner("127.0.0.1", pool.stratum_port, f"{A}.one", threads=1),
            StratumMiner("127.0.0.1", pool.stratum_port, f"{B}.two", threads=1),
        ]
        async with mining(miners):
            await wait_for(lambda: chain.height >= 10, deadline=90)
        last, quiet = -1, 0
        while quiet < 3:  # shares still on their way are in: the log stood still ~1 s
            quiet = quiet + 1 if last == pool.accounting.last_share_id else 0
            last = pool.accounting.last_share_id
            await asyncio.sleep(0.3)
        template = pool.jobs.template
        assert template is not None
        work = (1 << 256) // (template.target + 1)
        before = await pool.accounting.payout(template.reward, work, None)
        total = (await pool.shares.call(lambda db: db.execute("SELECT COUNT(*) FROM shares")))
        count_before = total.fetchone()[0]

        deleted = await pool.prune()
        assert deleted > 0
        assert await pool.prune() == 0  # nothing more until new shares arrive
        api = f"http://127.0.0.1:{pool.api_port}"
        info = await get(f"{api}/v1/pool")
        page = await get(f"{api}/v1/pool/shares?limit=1000")
        blocks = (await get(f"{api}/v1/pool/blocks?limit=100"))["blocks"]

        # the log keeps exactly the shares after pruned_upto
        assert info["prune_shares"] == 2 and info["pruned_upto"] == pool.pruned_upto > 0
        assert page["pruned_upto"] == pool.pruned_upto
        assert page["shares"][0]["id"] == pool.pruned_upto + 1
        assert len(page["shares"]) == count_before - deleted
        # the newest 2 blocks' windows are whole: the audit passes; an older one is named pruned
        assert any(b["window_start"] < pool.pruned_upto < b["window_end"] for b in blocks) or any(
            b["window_end"] <= pool.pruned_upto for b in blocks
        )
        for index, block in enumerate(sorted(blocks, key=lambda b: -b["window_end"])):
            shares = [
                s for s in page["shares"] if block["window_start"] < s["id"] <= block["window_end"]
            ]
            audit = audit_block(
                block,
                shares,
                fee_ppm=0,
                pplns_n=2,
                bits=template.bits,
                coinbase=None,
                pruned_upto=pool.pruned_upto,
            )
            if index < 2:
                assert audit.ok, audit.problems
            elif block["window_start"] < min(block["window_end"], pool.pruned_upto):
                assert audit.problems == [
                    f"its window ({block['window_start']}, {block['window_end']}] is pruned:"
                    f" the pool keeps no share up to {pool.pruned_upto} (--prune-shares);"
                    " audit fewer blocks"
                ]

        # a pool restarted on the pruned log pays what it paid before
        fresh = Accounting(
            pool.shares,
            scheme="pplns",
            operator=config.operator,
            fee_ppm=0,
            pplns_n=2,
            dust=config.dust,
            max_outputs=config.max_outputs,
        )
        await fresh.load()
        assert await fresh.payout(template.reward, work, None) == before
        assert await pool.accounting.payout(template.reward, work, None) == before
    assert pool.metrics.shares_pruned._value.get() == deleted
