"""What real cpuminer (pooler/cpuminer 2.5.0, ``minerd -a sha256d``) does on the wire, replayed
byte for byte against the pool, and the two ways the pool once failed it (docs/pool.md,
"Checked with real mining software"):

* cpuminer restarts extranonce2 at 0 for every new job id and keeps hashing its current work
  (at its current difficulty) while the first 76 bytes of the header it would build from the
  newest job equal those of that work. A job re-sent with a new difficulty but the same
  ``ntime`` therefore never took effect: a fresh regtest pool lowered the difficulty from 1 to
  2^-8 while minerd went on at difficulty 1 and never submitted a share.
* cpuminer stops hashing once it has had no new job id for 120 s (and drops a connection silent
  for 120 s), so the pool sends new work at least every ``job_refresh_interval`` seconds.

The lines sent here are exactly those minerd 2.5.0 sends (its ``sprintf`` formats, with
their spacing); the header words are built as its ``stratum_gen_work`` builds them.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from pool_testkit import (
    ALICE,
    FakeChain,
    FakeNodeClient,
    NotifyJob,
    ScriptedMiner,
    be32dec,
    be32enc,
    bits_for_work,
    diff_to_target,
    le32dec,
    pool_config,
    running_pool,
    sha256d,
)

from pool.jobs import MAX_NTIME_LEAD
from pool.session import StratumSettings
from pool.vardiff import VardiffConfig

HARD_BITS = bits_for_work(2**40)  # no share is a block
USER = ALICE.address() + ".rig1"
SUBSCRIBE = b'{"id": 1, "method": "mining.subscribe", "params": ["cpuminer/2.5.0"]}\n'
AUTHORIZE = b'{"id": 2, "method": "mining.authorize", "params": ["%s", "x"]}\n'
SUBMIT = b'{"method": "mining.submit", "params": ["%s", "%s", "%s", "%s", "%s"], "id":4}\n'


def cpuminer_data76(job: NotifyJob, extranonce1: bytes, extranonce2: bytes) -> bytes:
    """The first 19 words of cpuminer's ``work.data`` (big-endian, as hashed) for ``job``: what
    its miner thread compares (``memcmp(work.data, g_work.data, 76)``) to decide whether the
    newest job is new work."""
    coinbase = bytes.fromhex(job.coinb1) + extranonce1 + extranonce2 + bytes.fromhex(job.coinb2)
    merkle = sha256d(coinbase)
    for h in job.branch:
        merkle = sha256d(merkle + bytes.fromhex(h))
    prev = bytes.fromhex(job.prevhash)
    words = [le32dec(bytes.fromhex(job.version))]
    words += [le32dec(prev[4 * i : 4 * i + 4]) for i in range(8)]
    words += [be32dec(merkle[4 * i : 4 * i + 4]) for i in range(8)]
    words += [le32dec(bytes.fromhex(job.ntime)), le32dec(bytes.fromhex(job.nbits))]
    return b"".join(be32enc(w) for w in words)


async def read_until(m: ScriptedMiner, done: Any, deadline: float = 10.0) -> None:
    async with asyncio.timeout(deadline):
        while not done():
            await m._read_one()


async def cpuminer_handshake(port: int) -> ScriptedMiner:
    m = await ScriptedMiner.connect(port)
    m.send_raw(SUBSCRIBE)
    reply = await m._read_one()
    assert reply["id"] == 1 and reply["error"] is None
    _, extranonce1, size = reply["result"]
    m.extranonce1, m.extranonce2_size = bytes.fromhex(extranonce1), int(size)
    assert m.extranonce2_size == 4
    m.send_raw(AUTHORIZE % USER.encode())
    replies: list[dict[str, Any]] = []
    while not any(r.get("id") == 2 for r in replies):
        replies.append(await m._read_one())
    assert next(r for r in replies if r.get("id") == 2)["result"] is True
    m._responses.clear()  # answered here; m.call numbers its own requests from 1
    return m


async def test_a_lower_difficulty_reaches_cpuminer(tmp_path: Path) -> None:
    """Vardiff eases a silent miner's difficulty; the re-sent job must be new work to
    cpuminer (a different header at extranonce2 0), and its shares count at the new
    difficulty."""
    chain = FakeChain(HARD_BITS)
    vardiff = VardiffConfig(
        initial_difficulty=2.0**-16,
        min_difficulty=2.0**-24,
        target_interval=0.05,
        retarget_time=0.2,
    )
    stratum = replace(StratumSettings(), vardiff=vardiff)
    config = pool_config(tmp_path, stratum=stratum, template_interval=60.0)
    async with running_pool(config, FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        m = await cpuminer_handshake(pool.stratum_port)
        await read_until(m, lambda: len(m.jobs) >= 1)
        first = m.jobs[0]
        assert first.difficulty == 2.0**-16 and first.clean is True
        # no share: after retarget_time the difficulty drops by 4, with the job re-sent
        await read_until(m, lambda: len(m.jobs) >= 2)
        eased = m.jobs[1]
        assert eased.difficulty == 2.0**-18 and eased.clean is False
        assert eased.job_id != first.job_id
        assert (eased.prevhash, eased.coinb1, eased.coinb2) == (
            first.prevhash,
            first.coinb1,
            first.coinb2,
        )
        zero = bytes(4)  # cpuminer's extranonce2 for the first work of every new job id
        assert cpuminer_data76(eased, m.extranonce1, zero) != cpuminer_data76(
            first, m.extranonce1, zero
        )
        assert int(eased.ntime, 16) > int(first.ntime, 16)
        # a share at the eased difficulty that the first one would refuse, sent as minerd does
        start = 0
        while True:
            share = m.find(eased, zero, start=start)
            if share.value > diff_to_target(first.difficulty):
                break
            start = int.from_bytes(bytes.fromhex(share.nonce_hex), "little") + 1
        m.send_raw(
            SUBMIT
            % (
                USER.encode(),
                eased.job_id.encode(),
                share.extranonce2_hex.encode(),
                eased.ntime.encode(),
                share.nonce_hex.encode(),
            )
        )
        await read_until(m, lambda: 4 in m._responses)
        assert m._responses.pop(4) == {"id": 4, "result": True, "error": None}
        await m.close()


async def test_new_work_at_least_every_refresh_interval(tmp_path: Path) -> None:
    """Nothing changes (same tip, template and payout), yet a new job id comes within the
    refresh interval, so cpuminer's 120 s work timeout never fires."""
    chain = FakeChain(HARD_BITS)
    config = pool_config(tmp_path, job_refresh_interval=0.5, template_interval=0.1)
    async with running_pool(config, FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        m = await cpuminer_handshake(pool.stratum_port)
        started = time.monotonic()
        await read_until(m, lambda: len(m.jobs) >= 3)
        assert time.monotonic() - started < 5
        first, *refreshed = m.jobs[:3]
        assert first.clean is True
        for job in refreshed:
            assert job.clean is False and job.prevhash == first.prevhash
        assert len({job.job_id for job in m.jobs}) == len(m.jobs)
        # an older job of the same tip stays valid
        share = m.find(first, bytes.fromhex("01000000"))
        assert (await m.submit(USER, first, share))["result"] is True
        await m.close()


async def test_clone_ntime_never_runs_far_ahead(tmp_path: Path) -> None:
    chain = FakeChain(HARD_BITS)
    async with running_pool(pool_config(tmp_path), FakeNodeClient(chain)) as pool:
        job = pool.jobs.current
        assert job is not None
        now = int(time.time())
        for _ in range(3 * MAX_NTIME_LEAD):  # a burst of difficulty changes
            clone = pool.jobs.clone(job)
            assert clone is not None and clone.job_id != job.job_id
            assert json.loads(clone.notify_line(False))["params"][7] == f"{clone.ntime:08x}"
            job = clone
        assert now + MAX_NTIME_LEAD - 1 <= job.ntime <= int(time.time()) + MAX_NTIME_LEAD
