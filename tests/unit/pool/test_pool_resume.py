"""Stratum session resumption (pool.resume, as ckpool): a miner that reconnects with its old
session id gets its extranonce1, difficulty and job difficulties back, so a share it finds for
a job of the old connection still counts; an unknown, malformed, live or expired id gets a fresh
extranonce1."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pool_testkit import (
    ALICE,
    FakeChain,
    FakeNodeClient,
    ScriptedMiner,
    bits_for_work,
    pool_config,
    running_pool,
)

from pool.resume import ResumableSessions, SavedSession
from pool.vardiff import VardiffConfig
from tests.framework.util import wait_until

USER = ALICE.address() + ".rig"


async def _subscribe(miner: ScriptedMiner, session_id: str | None) -> list[Any]:
    params = ["scripted/1.0"] if session_id is None else ["scripted/1.0", session_id]
    reply = await miner.call("mining.subscribe", params)
    result: list[Any] = reply["result"]
    miner.extranonce1 = bytes.fromhex(result[1])
    miner.extranonce2_size = int(result[2])
    return result


async def _closed(pool: Any, count: int) -> None:
    await wait_until(lambda: len(pool.server.sessions) == count, 5, message="session closed")


async def test_a_reconnecting_miner_resumes_its_session(tmp_path: Path) -> None:
    chain = FakeChain(bits_for_work(2**40))
    vardiff = VardiffConfig(initial_difficulty=2.0**-20, min_difficulty=2.0**-32, enabled=False)
    config = pool_config(tmp_path, difficulty=2.0**-20, vardiff=vardiff)
    async with running_pool(config, FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        first = await ScriptedMiner.connect(pool.stratum_port)
        result = await _subscribe(first, None)
        session_id, extranonce1 = result[0][1][1], first.extranonce1
        assert session_id == extranonce1.hex()
        await first.authorize(USER)
        job = await first.next_job()
        live = pool.server.sessions[extranonce1]
        live.vardiff.difficulty = 2.0**-18  # as if vardiff had moved it
        await first.close()
        await _closed(pool, 0)

        # Someone else cannot take a session id in use; the owner gets it back.
        again = await ScriptedMiner.connect(pool.stratum_port)
        await _subscribe(again, session_id)
        assert again.extranonce1 == extranonce1
        assert pool.server.sessions[extranonce1].vardiff.difficulty == 2.0**-18
        other = await ScriptedMiner.connect(pool.stratum_port)
        await _subscribe(other, session_id)
        assert other.extranonce1 != extranonce1
        await again.authorize(USER)
        resent = await again.next_job()
        # The current work comes back under a new id: its new difficulty must not change
        # what shares of the old id must meet.
        assert resent.job_id != job.job_id and resent.difficulty == 2.0**-18
        # A share for the job of the first connection, with the same extranonce1, counts at
        # the difficulty that job was sent at.
        share = again.find(job, b"\x00\x00\x00\x07")
        reply = await again.submit(USER, job, share)
        assert reply["result"] is True, reply
        assert pool.metrics.sessions_resumed._value.get() == 1
        await again.close()
        await other.close()


async def test_unknown_malformed_and_expired_ids_get_a_fresh_extranonce1(tmp_path: Path) -> None:
    chain = FakeChain(bits_for_work(2**40))
    async with running_pool(pool_config(tmp_path), FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        for bad in ("00000000", "zz", 12, None, "0" * 40):
            miner = await ScriptedMiner.connect(pool.stratum_port)
            result = await miner.call("mining.subscribe", ["scripted/1.0", bad])
            assert result["error"] is None and len(result["result"][1]) == 8
            await miner.close()
        assert pool.metrics.sessions_resumed._value.get() == 0


def test_saved_sessions_expire_and_are_bounded() -> None:
    now = [1000.0]
    kept = ResumableSessions(60, 2, clock=lambda: now[0])
    saved = SavedSession(1.0, 0.5, (("j1", 1.0),))
    kept.keep(b"\x00\x00\x00\x01", saved)
    kept.keep(b"\x00\x00\x00\x02", replace(saved, difficulty=2.0))
    kept.keep(b"\x00\x00\x00\x03", replace(saved, difficulty=3.0))  # the first is dropped
    assert kept.take("00000001") is None
    found = kept.take("00000002")
    assert found == (b"\x00\x00\x00\x02", replace(saved, difficulty=2.0))
    assert kept.take("00000002") is None  # taken once
    now[0] += 61
    assert kept.take("00000003") is None and len(kept) == 0


@pytest.mark.parametrize("session_id", ["", "000000", "0000000g", 5, ["00000001"]])
def test_malformed_session_ids(session_id: object) -> None:
    kept = ResumableSessions()
    kept.keep(b"\x00\x00\x00\x01", SavedSession(1.0, 1.0, ()))
    assert kept.take(session_id) is None
