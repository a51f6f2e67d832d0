"""Stratum v1 conformance: a scripted client that builds everything the way cpuminer does
(coinbase from coinb1 + extranonce1 + extranonce2 + coinb2, the merkle root from the branch,
header words via le32dec/be32enc, the hex byte orders of mining.submit) gets one valid share
accepted, each error code 20-25 for the matching mistake, version rolling, a block, and the
connection limits."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from pool_testkit import (
    ALICE,
    BOB,
    OPERATOR,
    FakeChain,
    FakeNodeClient,
    ScriptedMiner,
    bits_for_work,
    diff_to_target,
    pool_config,
    running_pool,
    wait_for,
)

from consensus.coinbase import coinbase_height
from consensus.hashing import hash_to_hex
from consensus.params import REGTEST, TEST
from consensus.transaction import Transaction
from pool.session import StratumSettings
from pool.vardiff import VardiffConfig

HARD_BITS = bits_for_work(2**40)  # no test share is a block
USER = ALICE.address() + ".rig1"


def word_swapped(h: bytes) -> str:
    return b"".join(h[i : i + 4][::-1] for i in range(0, 32, 4)).hex()


async def api_get(pool: object, path: str) -> dict:  # type: ignore[type-arg]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{pool.api_port}{path}") as resp,  # type: ignore[attr-defined]
    ):
        return await resp.json()  # type: ignore[no-any-return]


async def test_subscribe_authorize_notify_and_every_error_code(tmp_path: Path) -> None:
    chain = FakeChain(HARD_BITS)
    async with running_pool(pool_config(tmp_path), FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        m = await ScriptedMiner.connect(pool.stratum_port)

        # 25: a share before mining.subscribe
        early = await m.call("mining.submit", [USER, "1", "00000000", "00000000", "00000000"])
        assert early["result"] is False and early["error"][0] == 25

        reply = await m.subscribe()
        subscriptions, extranonce1, size = reply["result"]
        assert [s[0] for s in subscriptions] == ["mining.set_difficulty", "mining.notify"]
        assert len(bytes.fromhex(extranonce1)) == 4 and size == 4 and reply["error"] is None

        # a bad address and an address of another network are refused
        for bad in ("rsc1notanaddress", ALICE.address(TEST)):
            refused = await m.authorize(bad)
            assert refused["result"] is False and refused["error"][0] == 24
        assert m.jobs == []  # no work before a successful authorize

        assert (await m.authorize(USER))["result"] is True
        job = await m.next_job()
        assert m.difficulties == [2.0**-24]  # set_difficulty came before the notify
        template = chain.template()
        assert job.prevhash == word_swapped(chain.tip)
        assert job.version == "00000001"
        assert job.nbits == f"{HARD_BITS:08x}"
        assert int(job.ntime, 16) >= template.min_time
        assert job.clean is True
        assert job.branch == [h.hex() for h in template.merkle_branch] and len(job.branch) == 2

        # the coinbase miners assemble is a valid coinbase paying the reward at this height
        coinbase = Transaction.decode(
            bytes.fromhex(job.coinb1) + m.extranonce1 + bytes(4) + bytes.fromhex(job.coinb2)
        )
        assert coinbase.is_coinbase and coinbase_height(coinbase) == template.height
        assert coinbase.total_out() == template.reward
        assert [o.lock for o in coinbase.outputs] == [OPERATOR.lock]  # no shares yet

        # one valid share
        share = m.find(job, bytes.fromhex("01000000"))
        accepted = await m.submit(USER, job, share)
        assert accepted == {"id": accepted["id"], "result": True, "error": None}
        logged = await api_get(pool, "/v1/pool/shares?address=" + ALICE.address())
        [row] = logged["shares"]
        assert row["hash"] == hash_to_hex(share.hash) and row["worker"] == "rig1"
        assert row["address"] == ALICE.address() and row["block"] is False

        async def code(*params: object) -> int:
            reply = await m.call("mining.submit", list(params))
            assert reply["result"] is False
            return int(reply["error"][0])

        en2 = share.extranonce2_hex
        # 22: the same share again
        assert await code(USER, job.job_id, en2, job.ntime, share.nonce_hex) == 22
        # 23: a header above the share target
        low = m.find(job, bytes.fromhex("02000000"), meets=False)
        assert await code(USER, job.job_id, low.extranonce2_hex, job.ntime, low.nonce_hex) == 23
        # 21: unknown job
        assert await code(USER, "ffffff", en2, job.ntime, share.nonce_hex) == 21
        # 24: a worker not authorized on this connection
        other = BOB.address() + ".x"
        assert await code(other, job.job_id, en2, job.ntime, share.nonce_hex) == 24
        # 20: extranonce2 of the wrong size, bad hex, ntime out of range, malformed nonce
        assert await code(USER, job.job_id, "0000", job.ntime, share.nonce_hex) == 20
        assert await code(USER, job.job_id, "zzzzzzzz", job.ntime, share.nonce_hex) == 20
        future = f"{int(job.ntime, 16) + 100_000:08x}"
        assert await code(USER, job.job_id, en2, future, share.nonce_hex) == 20
        past = f"{template.min_time - 1:08x}"
        assert await code(USER, job.job_id, en2, past, share.nonce_hex) == 20
        assert await code(USER, job.job_id, en2, job.ntime, "123") == 20
        assert await code(USER, job.job_id, en2, job.ntime) == 20
        # unknown methods are refused with 20, the connection stays
        unknown = await m.call("mining.frobnicate", [])
        assert unknown["error"][0] == 20

        # a later ntime within the window is fine (miners may roll it)
        rolled = f"{int(job.ntime, 16) + 30:08x}"
        later = m.find(job, bytes.fromhex("03000000"), ntime=rolled)
        assert (await m.submit(USER, job, later, ntime=rolled))["result"] is True
        assert pool.metrics.shares_accepted._value.get() == 2
        await m.close()


async def test_version_rolling_bip310(tmp_path: Path) -> None:
    chain = FakeChain(HARD_BITS)
    async with running_pool(pool_config(tmp_path), FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        m = await ScriptedMiner.connect(pool.stratum_port)
        configured = await m.call(
            "mining.configure",
            [
                ["version-rolling"],
                {"version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2},
            ],
        )
        assert configured["result"] == {"version-rolling": True, "version-rolling.mask": "1fffe000"}
        await m.subscribe()
        await m.authorize(USER)
        job = await m.next_job()
        bits = 0x00002000
        version = (int(job.version, 16) & ~0x1FFFE000) | bits
        share = m.find(job, bytes(4), version=version)
        reply = await m.submit(USER, job, share, version_bits=f"{bits:08x}")
        assert reply["result"] is True, reply
        outside = await m.submit(USER, job, share, version_bits="00000002")
        assert outside["error"][0] == 20

        # without mining.configure, no bits may be rolled
        plain = await ScriptedMiner.connect(pool.stratum_port)
        await plain.subscribe()
        await plain.authorize(USER)
        job2 = await plain.next_job()
        share2 = plain.find(job2, bytes(4), version=version)
        refused = await plain.submit(USER, job2, share2, version_bits=f"{bits:08x}")
        assert refused["error"][0] == 20
        await m.close()
        await plain.close()


async def test_a_share_meeting_the_network_target_is_a_block(tmp_path: Path) -> None:
    chain = FakeChain(REGTEST.pow_limit_bits)  # every share is a block, as on regtest
    async with running_pool(pool_config(tmp_path), FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        m = await ScriptedMiner.connect(pool.stratum_port)
        await m.subscribe()
        await m.authorize(USER)
        job = await m.next_job()
        share = m.find(job, bytes.fromhex("00000007"))
        assert (await m.submit(USER, job, share))["result"] is True
        # the node got exactly the header the miner hashed, and the coinbase it built
        assert chain.tip == share.hash
        block = chain.entries[chain.tip].block
        assert block.header.encoded == share.header
        assert block.transactions[0].encoded == share.coinbase
        assert block.transactions[1:] == tuple(chain.transactions)
        # a clean job on the new tip follows at once
        new = await m.next_job(after=1)
        assert new.clean and new.prevhash == word_swapped(share.hash)
        # a block share for the old job is now stale
        late = m.find(job, bytes.fromhex("00000008"))
        assert (await m.submit(USER, job, late))["error"][0] == 21
        blocks = await api_get(pool, "/v1/pool/blocks")
        assert [b["hash"] for b in blocks["blocks"]] == [hash_to_hex(share.hash)]
        assert blocks["blocks"][0]["status"] == "accepted"
        await m.close()


async def test_vardiff_and_suggest_difficulty(tmp_path: Path) -> None:
    chain = FakeChain(HARD_BITS)
    vardiff = VardiffConfig(
        initial_difficulty=2.0**-24,
        min_difficulty=2.0**-30,
        target_interval=5.0,
        retarget_shares=4,
        retarget_time=60.0,
    )
    config = pool_config(tmp_path, vardiff=vardiff)
    async with running_pool(config, FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        m = await ScriptedMiner.connect(pool.stratum_port)
        await m.subscribe()
        await m.authorize(USER)
        job = await m.next_job()
        old = job
        for i in range(4):  # four shares in well under a second: far too easy
            share = m.find(job, i.to_bytes(4, "little"))
            assert (await m.submit(USER, job, share))["result"] is True
        raised = await m.next_job(after=1)
        assert m.difficulties[-1] > 2.0**-24 and raised.difficulty == m.difficulties[-1]
        assert raised.job_id != old.job_id and raised.clean is False
        # a share of the old job still counts at the difficulty it was mined at
        share = m.find(old, bytes.fromhex("09000000"))
        assert (await m.submit(USER, old, share))["result"] is True
        # the new job needs the new difficulty: a share only good enough for the old one is 23
        old_target, new_target = diff_to_target(2.0**-24), diff_to_target(raised.difficulty)
        start = 0
        while True:
            easy = m.find(raised, bytes.fromhex("0a000000"), target=old_target, start=start)
            if easy.value > new_target:
                break
            start = int.from_bytes(bytes.fromhex(easy.nonce_hex), "little") + 1
        assert (await m.submit(USER, raised, easy))["error"][0] == 23
        # mining.suggest_difficulty sets it (and re-sends the job)
        count = len(m.jobs)
        assert (await m.call("mining.suggest_difficulty", [0.5]))["result"] is True
        await m.next_job(after=count)
        assert m.difficulties[-1] == 0.5
        await m.close()


async def test_a_difficulty_asked_in_the_password(tmp_path: Path) -> None:
    """``mining.authorize [user, "x,d=0.25"]``: the first job comes at difficulty 0.25, which
    is also vardiff's floor, as ``mining.suggest_difficulty``; a password without it, or with a
    bad one, leaves the pool's initial difficulty."""
    chain = FakeChain(HARD_BITS)
    vardiff = VardiffConfig(initial_difficulty=2.0**-24, min_difficulty=2.0**-30)
    async with running_pool(pool_config(tmp_path, vardiff=vardiff), FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        for password, expected in (("x,d=0.25", 0.25), ("d=nonsense", 2.0**-24), ("", 2.0**-24)):
            m = await ScriptedMiner.connect(pool.stratum_port)
            await m.subscribe()
            assert (await m.call("mining.authorize", [USER, password]))["result"] is True
            job = await m.next_job()
            assert job.difficulty == expected, password
            await m.close()


@pytest.mark.parametrize("abuse", ["long_line", "not_json", "flood"])
async def test_abusive_connections_are_closed(tmp_path: Path, abuse: str) -> None:
    chain = FakeChain(HARD_BITS)
    stratum = replace(StratumSettings(), max_line=1024, message_rate=5.0, message_burst=10.0)
    async with running_pool(pool_config(tmp_path, stratum=stratum), FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        m = await ScriptedMiner.connect(pool.stratum_port)
        if abuse == "long_line":
            m.send_raw(b"x" * 4096)
        elif abuse == "not_json":
            m.send_raw(b"hello\n")
        else:
            m.send_raw(b'{"id": 1, "method": "mining.extranonce.subscribe", "params": []}\n' * 50)
        async with asyncio.timeout(5):
            while await m.reader.readline():
                pass
        await wait_for(lambda: not pool.server.sessions)
        await m.close()


async def test_idle_and_per_address_limits(tmp_path: Path) -> None:
    chain = FakeChain(HARD_BITS)
    stratum = replace(StratumSettings(), subscribe_timeout=0.3, max_connections_per_ip=2)
    async with running_pool(pool_config(tmp_path, stratum=stratum), FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        first = await ScriptedMiner.connect(pool.stratum_port)
        second = await ScriptedMiner.connect(pool.stratum_port)
        await second.subscribe()
        await second.authorize(USER)
        third = await ScriptedMiner.connect(pool.stratum_port)
        async with asyncio.timeout(5):
            assert await third.reader.readline() == b""  # refused: third from this address
        async with asyncio.timeout(5):
            assert await first.reader.readline() == b""  # never subscribed: dropped
        await asyncio.sleep(0.5)  # the subscribed and authorized one stays
        assert pool.metrics.connections_refused._value.get() == 1
        assert (await second.call("mining.extranonce.subscribe", []))["result"] is True
        for m in (first, second, third):
            await m.close()


async def test_share_difficulty_never_exceeds_the_network_difficulty(tmp_path: Path) -> None:
    # on a retargeting network a block that is not a share would never reach the pool
    chain = FakeChain(TEST.pow_limit_bits, params=TEST)  # network difficulty ~0.5
    config = pool_config(tmp_path, params=TEST, operator=OPERATOR.address(TEST), difficulty=4.0)
    async with running_pool(config, FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        m = await ScriptedMiner.connect(pool.stratum_port)
        await m.subscribe()
        assert (await m.authorize(ALICE.address(TEST)))["result"] is True
        job = await m.next_job()
        network_target = chain.template().target
        assert 0.49 < m.difficulty < 0.5 and job.difficulty == m.difficulty
        # the miner's own target (cpuminer's arithmetic) still covers every block
        assert diff_to_target(m.difficulty) >= network_target
        await m.close()
