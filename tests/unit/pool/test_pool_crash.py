"""Crash safety: ``seedchain pool`` runs as a subprocess against a fake node served over HTTP
(so ``HttpNodeClient`` is exercised too); scripted miners stream shares (many of them blocks);
the pool is SIGKILLed mid-stream and restarted. Every acknowledged share must be in the log,
and no credit may be counted twice: for every address, what the node's chain actually paid it
plus what the pool still carries for it equals what the splits entitled it to."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp
from pool_testkit import (
    ALICE,
    BOB,
    CAROL,
    OPERATOR,
    FakeChain,
    ScriptedMiner,
    bits_for_work,
    serve_fake_node,
)

from consensus.addresses import address_to_lock
from consensus.hashing import hex_to_hash
from tests.framework.factory import Key
from tests.framework.util import free_port

ROOT = Path(__file__).resolve().parents[3]
DAVE = Key.from_index(54)
KEYS = [ALICE, BOB, CAROL, DAVE]
COIN = 100_000_000
DIFFICULTY = 2.0**-32  # every header is a share (share work 1)


class PoolProcess:
    def __init__(self, node_url: str, datadir: Path) -> None:
        self.node_url, self.datadir = node_url, datadir
        self.stratum_port, self.api_port = free_port(), free_port()
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        args = [
            sys.executable, "-m", "seedchain.cli", "pool",
            "--network", "regtest", "--node", self.node_url,
            "--stratum-bind", f"127.0.0.1:{self.stratum_port}",
            "--api-bind", f"127.0.0.1:{self.api_port}",
            "--scheme", "pplns", "--operator", OPERATOR.address(), "--fee", "2",
            "--dust", str(15 * COIN), "--datadir", str(self.datadir),
            "--difficulty", repr(DIFFICULTY), "--min-difficulty", repr(DIFFICULTY),
            "--no-vardiff", "--template-interval", "0.5", "--message-rate", "100000",
            "--tip-poll-interval", "0.1", "--log-format", "json",
        ]  # fmt: skip
        log = (self.datadir.parent / "pool.log").open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *args, cwd=ROOT, stdout=log, stderr=log, env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        async with asyncio.timeout(30), aiohttp.ClientSession() as session:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    url = f"http://127.0.0.1:{self.api_port}/v1/pool"
                    async with session.get(url) as resp:
                        if resp.status == 200:
                            return
                assert self.process.returncode is None, "the pool exited"
                await asyncio.sleep(0.1)

    async def stop(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        async with asyncio.timeout(20):
            await self.process.wait()


async def stream(port: int, key: Key, acked: list[str], stop: asyncio.Event) -> None:
    """Submit shares as fast as the pool acknowledges them, always on the newest job."""
    # ValueError: a line cut short by the SIGKILL
    with contextlib.suppress(ConnectionError, OSError, TimeoutError, ValueError):
        m = await ScriptedMiner.connect(port)
        await m.subscribe()
        await m.authorize(key.address())
        await m.next_job()
        counter = random.randrange(1 << 30)
        while not stop.is_set():
            job = m.jobs[-1]
            counter += 1
            built = m.build(job, counter.to_bytes(4, "little"), 0)
            reply = await m.submit(key.address(), job, built)
            if reply["result"] is True:
                acked.append(built.hash[::-1].hex())
        await m.close()


async def run_miners(pool: PoolProcess, acked: list[str], until: int, kill: bool) -> None:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(stream(pool.stratum_port, k, acked, stop)) for k in KEYS]
    async with asyncio.timeout(60):
        while len(acked) < until:  # noqa: ASYNC110 - a polled condition with a deadline
            await asyncio.sleep(0.01)
    if kill:
        await pool.stop(signal.SIGKILL)  # mid-stream: the miners are still submitting
    stop.set()
    await asyncio.gather(*tasks)
    if not kill:
        await pool.stop(signal.SIGTERM)


async def test_sigkill_loses_no_acknowledged_share_and_pays_nothing_twice(tmp_path: Path) -> None:
    chain = FakeChain(bits_for_work(24))  # about one share in 24 is a block
    datadir = tmp_path / "pool"
    acked: list[str] = []
    async with serve_fake_node(chain) as url:
        pool = PoolProcess(url, datadir)
        for round_, (until, kill) in enumerate([(150, True), (350, True), (500, False)]):
            await pool.start()
            await run_miners(pool, acked, until, kill)
            with sqlite3.connect(datadir / "pool.sqlite3") as db:
                logged = {h for (h,) in db.execute("SELECT hash FROM shares")}
            missing = [h for h in acked if h not in logged]
            assert not missing, f"round {round_}: {len(missing)} acknowledged shares lost"
        # a last start settles whatever the last kill left pending, then a clean stop
        await pool.start()
        await asyncio.sleep(1.0)
        await pool.stop(signal.SIGTERM)

    db = sqlite3.connect(datadir / "pool.sqlite3")
    blocks = db.execute(
        "SELECT hash, height, status, reward, operator_amount, operator_paid FROM blocks"
    ).fetchall()
    assert len(blocks) >= 10
    assert all(status != "pending" for _, _, status, *_ in blocks)
    best = {block.hash: block for block in chain.best_chain()[1:]}
    live = {h: row for h, *row in blocks if row[1] in ("accepted", "confirmed")}
    assert {hex_to_hash(h) for h in live} == set(best)  # the pool agrees with the node
    paid_by_chain: dict[bytes, int] = {}
    for block in best.values():
        for out in block.transactions[0].outputs:
            paid_by_chain[out.lock] = paid_by_chain.get(out.lock, 0) + out.value
    for block_hash, (_height, _status, reward, operator_amount, operator_paid) in live.items():
        credits = db.execute(
            "SELECT address, amount, paid, carry_delta FROM credits WHERE block_hash = ?",
            (block_hash,),
        ).fetchall()
        assert sum(c[1] for c in credits) + operator_amount == reward
        assert sum(c[2] for c in credits) + operator_paid == reward
        coinbase = best[hex_to_hash(block_hash)].transactions[0]
        expected = [(address_to_lock(a, "rsc"), p) for a, _, p, _ in sorted(credits) if p]
        if operator_paid or not expected:
            expected.append((OPERATOR.lock, operator_paid))
        assert [(o.lock, o.value) for o in coinbase.outputs] == expected
    for key in KEYS:
        entitled, paid, carried = db.execute(
            "SELECT SUM(c.amount), SUM(c.paid), SUM(c.carry_delta) FROM credits c JOIN blocks b"
            " ON b.hash = c.block_hash WHERE c.address = ? AND b.status IN"
            " ('accepted', 'confirmed')",
            (key.address(),),
        ).fetchone()
        assert paid == paid_by_chain.get(key.lock, 0)
        assert entitled == paid + carried
    # the dust rule was exercised: some parts were carried, some carried parts paid later
    deltas = db.execute(
        "SELECT c.amount, c.paid, c.carry_delta FROM credits c JOIN blocks b"
        " ON b.hash = c.block_hash WHERE b.status IN ('accepted', 'confirmed')"
    ).fetchall()
    assert any(delta > 0 for _, _, delta in deltas)
    assert any(paid > amount for amount, paid, _ in deltas)
    db.close()
