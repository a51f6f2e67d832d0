"""REST API load: ``GET /v1/blocks/tip/height`` under wrk, and ``POST /v1/tx`` acceptance.

    .venv/bin/python bench/api_load.py [--seconds 10] [--connections 50] [--txs 4000]

1. Installs wrk from the Debian packages if it is missing (apt-get as root, else sudo -n).
2. Ceiling: the same wrk run against a minimal aiohttp hello-world server on this machine.
3. Starts a node process, ``seedchain node --network regtest --datadir TMP --api-bind
   127.0.0.1:PORT`` (rate limit lifted with ``SEEDCHAIN_API_RATE_LIMIT=0``). If that command
   does not serve the API (yet), or still rate-limits loopback, the node is started by this
   script's own launcher instead (``--serve``: the same Node and ApiServer, wired here), and the
   JSON says so in ``launcher``.
4. wrk, ``--connections`` connections for ``--seconds``: requests/s and p99 latency.
5. POST /v1/tx: funds ``--txs`` independent coins (fan-out transactions, one block), signs one
   spend of each, posts them over ``--post-connections`` concurrent connections and reports
   transactions accepted per second against the one-core Ed25519 verification ceiling.

Prints one JSON object. Targets (issue 5): >= 5,000 req/s with p99 < 20 ms; POST /v1/tx at
>= 0.5 x the Ed25519 ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import ed25519_verify_ceiling, emit  # noqa: E402

HELLO_SERVER = """
import sys
from aiohttp import web
async def hello(request):
    return web.Response(text="0")
app = web.Application()
app.router.add_get("/v1/blocks/tip/height", hello)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


# --- helpers ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, "apt-get", "install", "-y", "wrk"]
    if subprocess.run(install, check=False, env=env, capture_output=True).returncode != 0:
        subprocess.run([*prefix, "apt-get", "update"], env=env, capture_output=True, check=True)
        subprocess.run(install, env=env, capture_output=True, check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


def wait_http(url: str, deadline: float) -> int | None:
    """Poll ``url`` until it answers; its status, or None at the deadline."""
    import urllib.error
    import urllib.request

    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            time.sleep(0.1)
    return None


def run_wrk(wrk: str, url: str, seconds: int, connections: int, threads: int) -> dict[str, Any]:
    out = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "req_per_s": round(rate, 1),
        "p99_ms": round(float(p99.group(1)) * scale, 3),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the node -----------------------------------------------------------------------------------
def start_node(datadir: Path, port: int, batch_submit: bool) -> tuple[subprocess.Popen[bytes], str]:
    """A regtest node serving the API on ``port``; and which launcher started it."""
    url = f"http://127.0.0.1:{port}/v1/blocks/tip/height"
    env = {**os.environ, "SEEDCHAIN_API_RATE_LIMIT": "0"}
    cli = Path(sys.executable).parent / "seedchain"
    if cli.exists() and not batch_submit:
        command = [
            str(cli), "node", "--network", "regtest", "--datadir", str(datadir),
            "--api-bind", f"127.0.0.1:{port}", "--p2p-bind", f"127.0.0.1:{free_port()}",
            "--log-format", "json",
        ]  # fmt: skip
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        status = wait_http(url, time.monotonic() + 15)
        if status == 200 and wait_http(url, time.monotonic() + 1) == 200:
            ok = all(wait_http(url, time.monotonic() + 1) == 200 for _ in range(150))
            if ok:
                return process, "seedchain node"
        stop(process)
    command = [sys.executable, __file__, "--serve", str(datadir), str(port)]
    if batch_submit:
        command.append("--batch-submit")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    if wait_http(url, time.monotonic() + 30) != 200:
        stop(process)
        raise SystemExit("the node's API did not come up")
    if batch_submit:
        return process, "bench launcher with the proposed Node.submit_transactions"
    return process, "bench launcher (seedchain node does not serve the API yet)"


def add_batch_submit(node: Any) -> None:
    """The ``Node.submit_transactions`` proposed for node/server.py (see docs/api.md): several
    transactions in one chain-thread call, each relayed as ``submit_transaction`` relays."""
    from consensus.errors import ConsensusError
    from node.mempool_errors import MempoolError

    async def submit_transactions(txs: list[Any]) -> list[Any]:
        now = int(time.time())

        def accept_all() -> list[Any]:
            results: list[Any] = []
            for tx in txs:
                try:
                    results.append(node.mempool.accept(tx, now))
                except (ConsensusError, MempoolError) as exc:
                    results.append(exc)
            return results

        results: list[Any] = await node.call(accept_all)
        if node.netsync is not None:
            for result in results:
                if not isinstance(result, Exception) and not result.orphan:
                    node.netsync.txrelay.announce_local(result.accepted)
        return results

    node.submit_transactions = submit_transactions


async def serve(datadir: Path, port: int, batch_submit: bool) -> None:
    """``--serve``: a regtest node with its API, wired as Node.run will wire it."""
    from consensus.params import REGTEST
    from node.api import ApiServer, ApiSettings
    from node.config import HostPort, NodeConfig
    from node.server import Node

    config = NodeConfig(
        params=REGTEST,
        datadir=datadir,
        p2p_bind=HostPort("127.0.0.1", 0),
        api_bind=HostPort("127.0.0.1", port),
        listen=False,
    )
    node = Node(config)
    if batch_submit and not hasattr(node, "submit_transactions"):
        add_batch_submit(node)
    task = asyncio.create_task(node.run())
    await node.started.wait()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    async with ApiServer(node, ApiSettings(rate_limit=0)):
        await stopping.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# --- POST /v1/tx ------------------------------------------------------------------------------
async def post_tx_bench(base: str, datadir: Path, count: int, connections: int) -> dict[str, Any]:
    import aiohttp

    from consensus.hashing import hex_to_hash
    from consensus.params import REGTEST
    from consensus.transaction import COIN, OutPoint, TxOut
    from tests.framework.factory import Key, spend

    funder, payee = Key.from_index(7), Key.from_index(8)
    token = (datadir / "api.cookie").read_text()
    admin = {"Authorization": f"Bearer {token}"}
    per_fanout = 1000
    fanouts = -(-count // per_fanout)
    async with aiohttp.ClientSession(base) as session:

        async def generate(blocks: int) -> list[str]:
            body = {"blocks": blocks, "address": funder.address()}
            async with session.post("/v1/mining/generate", json=body, headers=admin) as r:
                assert r.status == 200, await r.text()
                hashes: list[str] = await r.json()
                return hashes

        hashes = await generate(100 + fanouts)
        fan_txs = []
        value = COIN // 100
        for block_hash in hashes[:fanouts]:
            async with session.get(f"/v1/block/{block_hash}/txids") as r:
                txid = (await r.json())[0]
            coinbase = (OutPoint(hex_to_hash(txid), 0), TxOut(50 * COIN, funder.lock))
            outputs = [TxOut(value, funder.lock)] * per_fanout
            change = 50 * COIN - value * per_fanout - 100_000
            tx = spend([(*coinbase, funder)], [*outputs, TxOut(change, funder.lock)], REGTEST)
            async with session.post("/v1/tx", data=tx.encoded.hex()) as r:
                assert r.status == 200, await r.text()
            fan_txs.append(tx)
        await generate(1)
        spends: list[Any] = []
        for tx in fan_txs:
            for vout in range(per_fanout):
                if len(spends) == count:
                    break
                coin = (OutPoint(tx.txid, vout), tx.outputs[vout])
                spends.append(spend([(*coin, funder)], [TxOut(value - 1000, payee.lock)], REGTEST))
        bodies = [t.encoded.hex() for t in spends]
        queue: asyncio.Queue[str] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        statuses: dict[int, int] = {}

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                async with session.post("/v1/tx", data=body) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    accepted = statuses.get(200, 0)
    return {
        "transactions": count,
        "accepted": accepted,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 3),
        "tx_per_s": round(accepted / elapsed, 1),
        "connections": connections,
    }


# --- main ---------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--txs", type=int, default=4000)
    parser.add_argument("--post-connections", type=int, default=4)
    parser.add_argument(
        "--batch-submit",
        action="store_true",
        help="start the node with the proposed Node.submit_transactions (batched POST /v1/tx)",
    )
    parser.add_argument("--serve", nargs=2, metavar=("DATADIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(Path(args.serve[0]), int(args.serve[1]), args.batch_submit))
        return

    wrk = ensure_wrk()
    hello_port = free_port()
    hello = subprocess.Popen([sys.executable, "-c", HELLO_SERVER, str(hello_port)])
    try:
        assert wait_http(
            f"http://127.0.0.1:{hello_port}/v1/blocks/tip/height", time.monotonic() + 10
        )
        ceiling = run_wrk(
            wrk, f"http://127.0.0.1:{hello_port}/v1/blocks/tip/height",
            args.seconds, args.connections, args.wrk_threads,
        )  # fmt: skip
    finally:
        stop(hello)

    with tempfile.TemporaryDirectory(prefix="seedchain-api-bench-") as tmp:
        datadir = Path(tmp)
        port = free_port()
        node, launcher = start_node(datadir, port, args.batch_submit)
        try:
            base = f"http://127.0.0.1:{port}"
            figure = run_wrk(
                wrk, base + "/v1/blocks/tip/height", args.seconds, args.connections,
                args.wrk_threads,
            )  # fmt: skip
            post = asyncio.run(post_tx_bench(base, datadir, args.txs, args.post_connections))
        finally:
            stop(node)
    verify_ceiling = ed25519_verify_ceiling()
    emit(
        {
            "bench": "api_load",
            "endpoint": "GET /v1/blocks/tip/height",
            "connections": args.connections,
            "seconds": args.seconds,
            "figure": figure["req_per_s"],
            "p99_ms": figure["p99_ms"],
            "non_2xx": figure["non_2xx"],
            "ceiling": ceiling,
            "ratio": round(figure["req_per_s"] / ceiling["req_per_s"], 3),
            "targets": {"req_per_s": 5000, "p99_ms": 20, "post_tx_ratio": 0.5},
            "launcher": launcher,
            "post_tx": {
                **post,
                "ed25519_verify_ceiling": round(verify_ceiling, 1),
                "ratio": round(post["tx_per_s"] / verify_ceiling, 3),
            },
            "cpus": os.cpu_count(),
        }
    )


if __name__ == "__main__":
    main()
