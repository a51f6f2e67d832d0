"""The ledger: dust is carried (and held by the operator's output), an orphaned pool block takes
back exactly what it credited, and a block that returns to the best chain credits it again."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from pool_testkit import (
    ALICE,
    BOB,
    OPERATOR,
    BuiltHeader,
    FakeChain,
    FakeNodeClient,
    NotifyJob,
    ScriptedMiner,
    bits_for_work,
    diff_to_target,
    pool_config,
    running_pool,
    wait_for,
)

from consensus.hashing import hash_to_hex

COIN = 100_000_000


async def miner_info(pool: object, address: str) -> dict:  # type: ignore[type-arg]
    url = f"http://127.0.0.1:{pool.api_port}/v1/pool/miners/{address}"  # type: ignore[attr-defined]
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        return await resp.json()  # type: ignore[no-any-return]


async def test_carry_and_orphan_reversal(tmp_path: Path) -> None:
    # block work ~1024 hashes, share work ~256: a PPLNS window (N=2) holds 8 shares
    chain = FakeChain(bits_for_work(2**10))
    network_target = chain.template().target
    config = pool_config(tmp_path, scheme="pplns", pplns_n=2, dust=10 * COIN, fee_ppm=0)
    async with running_pool(config, FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        alice = await ScriptedMiner.connect(pool.stratum_port)
        bob = await ScriptedMiner.connect(pool.stratum_port)
        for m, key in ((alice, ALICE), (bob, BOB)):
            await m.subscribe()
            assert (await m.authorize(key.address()))["result"] is True
        share_target = diff_to_target(2.0**-24)

        def share(m: ScriptedMiner, job: NotifyJob, n: int) -> BuiltHeader:
            # a share that is not a block
            start = 0
            while True:
                built = m.find(job, n.to_bytes(4, "little"), target=share_target, start=start)
                if built.value > network_target:
                    return built
                start = int.from_bytes(bytes.fromhex(built.nonce_hex), "little") + 1

        bob_job = await bob.next_job()
        assert (await bob.submit(BOB.address(), bob_job, share(bob, bob_job, 1)))["result"]
        job = await alice.next_job()
        for n in range(7):
            assert (await alice.submit(ALICE.address(), job, share(alice, job, n)))["result"]
        # wait for the refreshed job that pays the 8 shares
        count = len(alice.jobs)
        paying = await alice.next_job(after=count, deadline=10)
        assert paying.clean is False
        template = chain.template()
        reward = template.reward
        parent = chain.tip
        block = alice.find(paying, bytes.fromhex("ffffffff"), target=network_target)
        assert (await alice.submit(ALICE.address(), paying, block))["result"] is True
        assert chain.tip == block.hash

        # BOB's 1/8 (6.25 coins) is under the 10-coin dust threshold: carried, held by the operator
        [row] = await pool.shares.call(_blocks)
        credits = {c[0]: c[1:] for c in row}
        share_work = (1 << 256) // (share_target + 1)
        window = 2 * ((1 << 256) // (network_target + 1))
        alice_weight = 7 * share_work
        bob_weight = min(share_work, window - alice_weight)  # the oldest share, cut to fit
        whole = alice_weight + bob_weight
        alice_part, bob_part = reward * alice_weight // whole, reward * bob_weight // whole
        if alice_part + bob_part < reward:  # one unit left: the larger remainder takes it
            if reward * alice_weight % whole >= reward * bob_weight % whole:
                alice_part += 1
            else:
                bob_part += 1
        assert bob_part < 10 * COIN
        assert credits[ALICE.address()] == (alice_part, alice_part, 0)
        assert credits[BOB.address()] == (bob_part, 0, bob_part)
        coinbase = chain.entries[block.hash].block.transactions[0]
        assert [(o.lock, o.value) for o in coinbase.outputs] == [
            (ALICE.lock, alice_part),
            (OPERATOR.lock, bob_part),
        ]
        await wait_for(lambda: pool.accounting.carried == {BOB.address(): bob_part})
        assert (await miner_info(pool, BOB.address()))["carried"] == bob_part
        assert (await miner_info(pool, ALICE.address()))["paid"]["immature"] == alice_part

        # someone else's longer branch orphans the pool block: its credits are taken back
        x1 = chain.mine_external(parent, tag=b"x1")
        chain.mine_external(x1.hash, tag=b"x2")
        assert chain.hash_at(template.height) != block.hash
        await wait_for(lambda: pool.accounting.carried == {})
        info = await miner_info(pool, ALICE.address())
        assert info["paid"] == {"confirmed": 0, "immature": 0, "orphaned": alice_part}
        status = await pool.shares.call(_status, hash_to_hex(block.hash))
        assert status == "orphaned"

        # and if the pool block's branch wins again, exactly the same comes back
        y2 = chain.mine_external(block.hash, tag=b"y2")
        chain.mine_external(y2.hash, tag=b"y3")
        assert chain.hash_at(template.height) == block.hash
        await wait_for(lambda: pool.accounting.carried == {BOB.address(): bob_part})
        info = await miner_info(pool, ALICE.address())
        assert info["paid"]["immature"] == alice_part and info["paid"]["orphaned"] == 0
        await alice.close()
        await bob.close()


def _blocks(db: object) -> list[list[tuple[str, int, int, int]]]:
    rows = db.execute("SELECT hash FROM blocks").fetchall()  # type: ignore[attr-defined]
    return [
        db.execute(  # type: ignore[attr-defined]
            "SELECT address, amount, paid, carry_delta FROM credits WHERE block_hash = ?", row
        ).fetchall()
        for row in rows
    ]


def _status(db: object, block_hash: str) -> str:
    row = db.execute("SELECT status FROM blocks WHERE hash = ?", (block_hash,)).fetchone()  # type: ignore[attr-defined]
    return str(row[0])


async def test_a_block_found_while_the_node_is_down_is_submitted_when_it_returns(
    tmp_path: Path,
) -> None:
    chain = FakeChain(bits_for_work(2**10))
    node = FakeNodeClient(chain)
    config = pool_config(tmp_path, settle_interval=0.2)
    async with running_pool(config, node) as pool:
        assert pool.stratum_port is not None
        m = await ScriptedMiner.connect(pool.stratum_port)
        await m.subscribe()
        await m.authorize(ALICE.address())
        job = await m.next_job()
        node.down = True
        block = m.find(job, bytes(4), target=chain.template().target)
        assert (await m.submit(ALICE.address(), job, block))["result"] is True
        block_hash = hash_to_hex(block.hash)
        assert await pool.shares.call(_status, block_hash) == "pending"
        assert chain.height == 0
        assert pool.accounting.carried == {}  # nothing carried: dust threshold not reached
        node.down = False
        await wait_for(lambda: chain.tip == block.hash)
        await wait_for(lambda: pool.jobs.template is not None and pool.jobs.template.height == 2)
        assert await pool.shares.call(_status, block_hash) == "accepted"
        assert pool.metrics.node_errors._value.get() > 0
        await m.close()


async def test_solo_pays_the_finder(tmp_path: Path) -> None:
    chain = FakeChain(bits_for_work(2**10))
    config = pool_config(tmp_path, scheme="solo", fee_ppm=20_000)  # 2 %
    async with running_pool(config, FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        alice = await ScriptedMiner.connect(pool.stratum_port)
        bob = await ScriptedMiner.connect(pool.stratum_port)
        for m, key in ((alice, ALICE), (bob, BOB)):
            await m.subscribe()
            await m.authorize(key.address() + ".solo")
        alice_job, bob_job = await alice.next_job(), await bob.next_job()
        assert alice_job.coinb1 != bob_job.coinb1  # each coinbase pays its own miner
        reward = chain.template().reward
        block = bob.find(bob_job, bytes(4), target=chain.template().target)
        assert (await bob.submit(BOB.address() + ".solo", bob_job, block))["result"] is True
        fee = reward * 20_000 // 1_000_000
        coinbase = chain.entries[block.hash].block.transactions[0]
        assert [(o.lock, o.value) for o in coinbase.outputs] == [
            (BOB.lock, reward - fee),
            (OPERATOR.lock, fee),
        ]
        info = await miner_info(pool, BOB.address())
        assert info["paid"]["immature"] == reward - fee and info["blocks_found"] == 1
        await alice.close()
        await bob.close()


async def test_a_block_the_node_refuses_credits_nothing_and_the_pool_goes_on(
    tmp_path: Path,
) -> None:
    chain = FakeChain(bits_for_work(2**10))
    async with running_pool(pool_config(tmp_path, dust=10 * COIN), FakeNodeClient(chain)) as pool:
        assert pool.stratum_port is not None
        m = await ScriptedMiner.connect(pool.stratum_port)
        await m.subscribe()
        await m.authorize(ALICE.address())
        job = await m.next_job()
        chain.refuse = "bad_prev_block"
        target = chain.template().target
        block = m.find(job, bytes(4), target=target)
        assert (await m.submit(ALICE.address(), job, block))["result"] is True  # a valid share
        assert await pool.shares.call(_status, hash_to_hex(block.hash)) == "rejected"
        assert pool.accounting.carried == {} and chain.height == 0
        assert pool.metrics.blocks.labels("rejected")._value.get() == 1
        chain.refuse = None
        again = m.find(job, bytes.fromhex("01000000"), target=target)
        assert (await m.submit(ALICE.address(), job, again))["result"] is True
        assert chain.tip == again.hash
        info = await miner_info(pool, ALICE.address())
        assert info["blocks_found"] == 1 and info["shares_total"] == 2
        await m.close()
