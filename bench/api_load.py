"""REST API load: ``GET /v1/blocks/tip/height`` under wrk, and ``POST /v1/tx`` acceptance.

    .venv/bin/python bench/api_load.py [--seconds 10] [--connections 50] [--txs 4000]
        [--post-connections 4 16 50] [--node-args="--verify-threads 0"]

1. Installs wrk from the Debian packages if it is missing (apt-get as root, else sudo -n).
2. Ceilings: the same wrk run against a minimal aiohttp hello-world server on this machine, and
   the POST client of step 5 against the same server's ``POST /v1/tx`` (reads the body, answers
   64 characters): what HTTP alone allows on this machine (``post_transport_ceiling``).
3. Starts a node process, ``seedchain node --network regtest --datadir TMP --api-bind
   127.0.0.1:PORT`` (rate limit lifted with ``SEEDCHAIN_API_RATE_LIMIT=0``; ``--node-args``
   appended, e.g. ``--verify-threads 0``), on fresh ports again (up to 3 tries) if it exits or
   does not answer, printing its last log lines. Where there is no ``seedchain`` command (the
   package is not installed), this script's own launcher (``--serve``: the same Node and
   ApiServer, wired here) starts it instead, and the JSON says so in ``launcher``.
4. wrk, ``--connections`` connections for ``--seconds``: requests/s and p99 latency.
5. POST /v1/tx: funds ``--txs`` independent coins per connection count (fan-out transactions,
   one block), signs one spend of each, posts them over each of ``--post-connections``
   concurrent connections (a fresh set of coins each time) and reports transactions accepted
   per second against the one-core Ed25519 verification ceiling (``post_tx``: the run at
   ``--connections``, the concurrency of the GET target, 50; ``post_tx_by_connections``: all).
   The posting client is wrk with ``bench/wrk_post_tx.lua`` (``--post-client python``: a
   minimal HTTP/1.1 keep-alive client on asyncio streams, which costs about as much CPU per
   request as the node's handler and capped the figure near 2,500/s on 2 cores).
6. The ceiling: ``cryptography``'s Ed25519 verifications per second on one core, measured
   before the node starts and after it stops; the higher of the two is used.

Prints one JSON object. Targets (issue 5): >= 5,000 req/s with p99 < 20 ms; POST /v1/tx at
>= 0.5 x the Ed25519 ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
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

WRK_POST_SCRIPT = Path(__file__).resolve().parent / "wrk_post_tx.lua"
WRK_POST_DEADLINE = 600  # seconds wrk may run before the POST phase counts as failed

HELLO_SERVER = """
import sys
from aiohttp import web
async def hello(request):
    return web.Response(text="0")
async def hello_post(request):
    await request.read()
    return web.Response(text="0" * 64)
app = web.Application()
app.router.add_get("/v1/blocks/tip/height", hello)
app.router.add_post("/v1/tx", hello_post)
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


def wait_http(
    url: str, deadline: float, process: subprocess.Popen[bytes] | None = None
) -> int | None:
    """Poll ``url`` until it answers; its status, or None at the deadline (or as soon as
    ``process``, the server, has exited)."""
    import urllib.error
    import urllib.request

    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return None
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
def start_node(
    datadir: Path, node_args: list[str], attempts: int = 3
) -> tuple[subprocess.Popen[bytes], int, str]:
    """A regtest node serving the API; its process, its API port, and which launcher started
    it. A port picked by ``free_port`` can be taken by another socket before the node binds it
    (an outgoing connection's ephemeral port, say), so a node that exits or never answers is
    tried again on fresh ports; its stderr goes to ``<datadir>/bench-node-stderr-N.log``, the last
    lines are printed when it fails."""
    env = {**os.environ, "SEEDCHAIN_API_RATE_LIMIT": "0"}
    cli = Path(sys.executable).parent / "seedchain"
    for attempt in range(1, attempts + 1):
        port = free_port()
        url = f"http://127.0.0.1:{port}/v1/blocks/tip/height"
        log_path = datadir / f"bench-node-stderr-{attempt}.log"
        if cli.exists():
            command = [
                str(cli), "node", "--network", "regtest", "--datadir", str(datadir),
                "--api-bind", f"127.0.0.1:{port}", "--p2p-bind", f"127.0.0.1:{free_port()}",
                "--log-format", "json", *node_args,
            ]  # fmt: skip
            launcher = " ".join(["seedchain node", *node_args])
        else:
            command = [sys.executable, __file__, "--serve", str(datadir), str(port)]
            launcher = "bench launcher (no seedchain command in this environment)"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
        if wait_http(url, time.monotonic() + 30, process) == 200 and all(
            wait_http(url, time.monotonic() + 1, process) == 200 for _ in range(150)
        ):
            return process, port, launcher
        stop(process)
        tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
        print(
            f"node attempt {attempt} (port {port}) did not serve the API; its last lines:",
            *tail,
            sep="\n  ",
            file=sys.stderr,
        )
    raise SystemExit("the node's API did not come up")


async def serve(datadir: Path, port: int) -> None:
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
async def post_bodies(port: int, bodies: list[str], connections: int) -> dict[int, int]:
    """POST each of ``bodies`` to ``/v1/tx`` over ``connections`` keep-alive connections, one
    request at a time on each; the count of each response status."""
    statuses: dict[int, int] = {}
    pending = iter(bodies)
    host = b"127.0.0.1:%d" % port

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for body in pending:
                data = body.encode()
                writer.write(
                    b"POST /v1/tx HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (host, len(data), data)
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                status = int(head[9:12])
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return statuses


def posts_with_wrk(
    wrk: str, port: int, bodies: list[str], connections: int
) -> tuple[dict[int, int], float]:
    """POST each of ``bodies`` once with wrk and ``bench/wrk_post_tx.lua``; the count of each
    response status, and the seconds from the first request to the last answer."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as file:
        file.write("\n".join(bodies) + "\n")
        file.flush()
        command = [
            wrk, "-t1", f"-c{connections}", f"-d{WRK_POST_DEADLINE}s", "-s", str(WRK_POST_SCRIPT),
            f"http://127.0.0.1:{port}", "--", file.name,
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        try:
            for line in process.stdout:
                if line.startswith("{"):
                    result: dict[str, Any] = json.loads(line)
                    statuses = {int(k): int(v) for k, v in result["statuses"].items()}
                    return statuses, float(result["seconds"])
        finally:
            process.kill()
            process.wait()
    raise SystemExit(f"wrk did not see every POST answered within {WRK_POST_DEADLINE} s")


async def timed_posts(
    port: int, bodies: list[str], connections: int, wrk: str | None
) -> dict[str, Any]:
    """POST ``bodies`` over ``connections`` connections, with wrk or (``wrk`` None) the Python
    client; accepted transactions per second."""
    if wrk is not None:
        statuses, elapsed = posts_with_wrk(wrk, port, bodies, connections)
    else:
        start = time.perf_counter()
        statuses = await post_bodies(port, bodies, connections)
        elapsed = time.perf_counter() - start
    accepted = statuses.get(200, 0)
    return {
        "transactions": len(bodies),
        "accepted": accepted,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": round(elapsed, 3),
        "tx_per_s": round(accepted / elapsed, 1),
        "connections": connections,
        "client": "wrk" if wrk is not None else "python",
    }


async def signed_spends(base: str, datadir: Path, count: int) -> list[str]:
    """Fund ``count`` independent coins on the node (fan-out transactions, confirmed) and
    return one signed spend of each, as hex."""
    import aiohttp

    from consensus.hashing import hex_to_hash
    from consensus.params import REGTEST
    from consensus.transaction import COIN, OutPoint, TxOut
    from node.api.guard import read_cookie
    from tests.framework.factory import Key, spend

    funder, payee = Key.from_index(7), Key.from_index(8)
    token = read_cookie(datadir)
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
    spends: list[str] = []
    for tx in fan_txs:
        for vout in range(per_fanout):
            if len(spends) == count:
                break
            coin = (OutPoint(tx.txid, vout), tx.outputs[vout])
            payment = spend([(*coin, funder)], [TxOut(value - 1000, payee.lock)], REGTEST)
            spends.append(payment.encoded.hex())
    return spends


async def post_tx_bench(
    base: str,
    port: int,
    datadir: Path,
    count: int,
    connection_counts: list[int],
    wrk: str | None,
) -> list[dict[str, Any]]:
    """One timed run of ``count`` fresh transactions per entry of ``connection_counts``."""
    bodies = await signed_spends(base, datadir, count * len(connection_counts))
    runs = []
    for index, connections in enumerate(connection_counts):
        batch = bodies[index * count : (index + 1) * count]
        runs.append(await timed_posts(port, batch, connections, wrk))
    return runs


def headline_run(posts: list[dict[str, Any]], connections: int) -> dict[str, Any]:
    """The POST run reported as ``post_tx``: the one at the GET target's concurrency (50
    connections), else the one with the most connections."""
    at = [run for run in posts if run["connections"] == connections]
    return at[0] if at else max(posts, key=lambda run: run["connections"])


# --- main ---------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--txs", type=int, default=4000)
    parser.add_argument("--post-connections", type=int, nargs="+", default=[4, 16, 50])
    parser.add_argument(
        "--post-client",
        choices=["wrk", "python"],
        default="wrk",
        help="who posts the transactions: wrk with bench/wrk_post_tx.lua, or a Python client",
    )
    parser.add_argument(
        "--node-args",
        default="",
        help="extra arguments for seedchain node, e.g. --verify-threads 0",
    )
    parser.add_argument("--serve", nargs=2, metavar=("DATADIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(Path(args.serve[0]), int(args.serve[1])))
        return

    verify_ceilings = [ed25519_verify_ceiling()]
    wrk = ensure_wrk()
    post_wrk = wrk if args.post_client == "wrk" else None
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
        post_ceiling = {
            str(connections): asyncio.run(
                timed_posts(hello_port, ["00" * 150] * args.txs, connections, post_wrk)
            )["tx_per_s"]
            for connections in args.post_connections
        }
    finally:
        stop(hello)

    with tempfile.TemporaryDirectory(prefix="seedchain-api-bench-") as tmp:
        datadir = Path(tmp)
        node, port, launcher = start_node(datadir, args.node_args.split())
        try:
            base = f"http://127.0.0.1:{port}"
            figure = run_wrk(
                wrk, base + "/v1/blocks/tip/height", args.seconds, args.connections,
                args.wrk_threads,
            )  # fmt: skip
            posts = asyncio.run(
                post_tx_bench(base, port, datadir, args.txs, args.post_connections, post_wrk)
            )
        finally:
            stop(node)
    verify_ceilings.append(ed25519_verify_ceiling())
    verify_ceiling = max(verify_ceilings)
    for run in posts:
        run["ratio"] = round(run["tx_per_s"] / verify_ceiling, 3)
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
                **headline_run(posts, args.connections),
                "ed25519_verify_ceiling": round(verify_ceiling, 1),
                "ed25519_verify_measured": [round(c, 1) for c in verify_ceilings],
            },
            "post_tx_by_connections": {
                str(run["connections"]): {
                    "tx_per_s": run["tx_per_s"],
                    "ratio": run["ratio"],
                    "statuses": run["statuses"],
                }
                for run in posts
            },
            "post_transport_ceiling": post_ceiling,
            "cpus": os.cpu_count(),
        }
    )


if __name__ == "__main__":
    main()
