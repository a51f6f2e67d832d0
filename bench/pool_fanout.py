"""Job fan-out: 1,000 concurrent Stratum connections on loopback, each subscribed and
authorized; a new block appears on the node and every connection must receive the clean
``mining.notify`` for it within 200 ms.

The pool runs in this process on an in-process fake node (real consensus objects), polling the
tip every 20 ms as a production pool would poll a local node; the miners are 1,000 asyncio
connections in a child process (so their reading does not share the pool's event loop). For
each new block, latency = the child's receive time of the new job - the instant the block
became the node's tip (wall clock, same machine). Reported: p50/p99/max over every connection
and round, plus the pool's own part (tip seen -> last write queued). RLIMIT_NOFILE is raised to
its hard limit in both processes.

    python bench/pool_fanout.py [--connections N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import ROOT, emit

sys.path.insert(0, str(ROOT / "tests" / "unit" / "pool"))

from pool_testkit import ALICE, FakeChain, FakeNodeClient, bits_for_work, pool_config

from pool.service import Pool
from pool.session import StratumSettings

TARGET_MS = 200.0


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- the child: N miners -----------------------------------------------------------------------
async def miner(port: int, index: int, ready: asyncio.Queue[int], seen: dict[str, list[float]]):  # type: ignore[no-untyped-def]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b'{"id":1,"method":"mining.subscribe","params":["bench"]}\n')
    writer.write(
        json.dumps(
            {"id": 2, "method": "mining.authorize", "params": [ALICE.address(), "x"]}
        ).encode()
        + b"\n"
    )
    first = True
    while True:
        line = await reader.readline()
        if not line:
            return
        now = time.time()
        if b"mining.notify" not in line:
            continue
        message = json.loads(line)
        if first:
            first = False
            await ready.put(index)
            continue
        prevhash = message["params"][1]
        if message["params"][8]:
            seen.setdefault(prevhash, []).append(now)


async def child(port: int, connections: int) -> None:
    raise_nofile()
    ready: asyncio.Queue[int] = asyncio.Queue()
    seen: dict[str, list[float]] = {}
    tasks = []
    for i in range(connections):
        tasks.append(asyncio.create_task(miner(port, i, ready, seen)))
        if i % 100 == 99:
            await asyncio.sleep(0.01)  # do not overflow the listen backlog
    for _ in range(connections):
        await ready.get()
    print("READY", flush=True)
    # the parent says when it is done: one line on stdin
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(json.dumps(seen), flush=True)
    for task in tasks:
        task.cancel()


# --- the parent: the pool ----------------------------------------------------------------------
async def parent(connections: int, rounds: int) -> dict[str, object]:
    limit = raise_nofile()
    chain = FakeChain(bits_for_work(2**16))
    stratum = replace(
        StratumSettings(), max_connections_per_ip=connections + 10, message_burst=1000.0
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = pool_config(
            Path(tmp), tip_poll_interval=0.02, template_interval=60.0, stratum=stratum
        )
        pool = Pool(config, FakeNodeClient(chain))
        broadcasts: list[tuple[float, float]] = []
        original = pool.server.broadcast

        async def timed_broadcast(clean: bool) -> int:
            started = time.time()
            sent = await original(clean)
            broadcasts.append((started, time.time()))
            return sent

        pool.server.broadcast = timed_broadcast  # type: ignore[method-assign]
        task = asyncio.create_task(pool.run())
        await pool.started.wait()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--child", str(pool.stratum_port),
            "--connections", str(connections),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, limit=1 << 26,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdin is not None
        async with asyncio.timeout(120):
            assert (await proc.stdout.readline()).strip() == b"READY"
        tips: dict[str, float] = {}
        pool_side = []
        for _ in range(rounds):
            await asyncio.sleep(0.3)
            count = len(broadcasts)
            block = chain.mine_external()
            tips[stratum_prevhash(block.hash)] = time.time()
            async with asyncio.timeout(10):
                while len(broadcasts) == count:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)
            pool_side.append((broadcasts[-1][1] - tips[stratum_prevhash(block.hash)]) * 1000)
        await asyncio.sleep(1.0)
        proc.stdin.write(b"done\n")
        await proc.stdin.drain()
        seen = json.loads(await proc.stdout.readline())
        await proc.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    latencies = []
    delivered = 0
    per_round = []
    for prevhash, changed_at in tips.items():
        received = seen.get(prevhash, [])
        delivered += len(received)
        latencies.extend((t - changed_at) * 1000 for t in received)
        per_round.append(round((max(received) - changed_at) * 1000, 1) if received else None)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return {
        "bench": "pool_job_fanout",
        "connections": connections,
        "rounds": rounds,
        "delivered": delivered,
        "expected": connections * rounds,
        "latency_ms_p50": round(statistics.median(latencies), 2),
        "latency_ms_p99": round(p99, 2),
        "latency_ms_max": round(latencies[-1], 2),
        "pool_side_ms_max": round(max(pool_side), 2),
        "latency_ms_max_per_round": per_round,
        "pool_side_ms_per_round": [round(x, 1) for x in pool_side],
        "broadcast_ms_per_round": [round((b - a) * 1000, 1) for a, b in broadcasts[-rounds:]],
        "tip_poll_interval_ms": 20,
        "ceiling_ms": TARGET_MS,
        "ratio": round(latencies[-1] / TARGET_MS, 3),
        "meets_target": delivered == connections * rounds and latencies[-1] <= TARGET_MS,
        "rlimit_nofile": limit,
    }


def stratum_prevhash(block_hash: bytes) -> str:
    return b"".join(block_hash[i : i + 4][::-1] for i in range(0, 32, 4)).hex()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(child(args.child, args.connections))
        return
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    emit(asyncio.run(parent(args.connections, args.rounds)))


if __name__ == "__main__":
    main()
