"""The processes of ``seedchain demo``: three regtest nodes, a pool and two miners, each a real
``seedchain`` subprocess on 127.0.0.1 with its own data directory and log file.

Stopping sends SIGTERM to every child (they shut down cleanly: nodes finish the block being
written) and SIGKILL only to one that is still there after a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

STOP_DEADLINE = 15.0
START_DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    name: str
    args: list[str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "seedchain",
                *self.args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # Ctrl-C reaches only us; we stop the children
            )
        finally:
            log.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_DEADLINE):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@dataclass
class DemoNode:
    name: str
    api_port: int
    p2p_port: int
    datadir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def admin_token(self) -> str:
        from node.api.guard import read_cookie

        return read_cookie(self.datadir)


@dataclass
class DemoMiner:
    name: str
    address: str
    threads: int


@dataclass
class DemoNetwork:
    """Builds the command lines; ``start`` launches everything and waits until it answers."""

    root: Path
    miners: list[DemoMiner]
    operator: str
    nodes: list[DemoNode] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    pool_api_port: int = 0
    stratum_port: int = 0

    def __post_init__(self) -> None:
        for i in range(3):
            self.nodes.append(
                DemoNode(f"node{i}", free_port(), free_port(), self.root / f"node{i}")
            )
        self.pool_api_port = free_port()
        self.stratum_port = free_port()

    @property
    def pool_url(self) -> str:
        return f"http://127.0.0.1:{self.pool_api_port}"

    def _node_args(self, index: int) -> list[str]:
        node = self.nodes[index]
        args = [
            "node", "--network", "regtest", "--datadir", str(node.datadir),
            "--p2p-bind", f"127.0.0.1:{node.p2p_port}", "--api-bind", f"127.0.0.1:{node.api_port}",
            "--log-format", "json", "--no-addrbook-dial", "--api-rate-limit", "0",
            "--verify-processes", "0",
        ]  # fmt: skip
        for peer in range(index):  # node1 -> node0; node2 -> node0, node1
            args += ["--peer", f"127.0.0.1:{self.nodes[peer].p2p_port}"]
        return args

    async def start_nodes(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for index, node in enumerate(self.nodes):
            node.datadir.mkdir(parents=True, exist_ok=True)
            child = Child(node.name, self._node_args(index), self.root / f"{node.name}.log")
            self.children.append(child)
            await child.start()
        for node in self.nodes:
            await wait_http(f"{node.url}/healthz")

    async def start_pool_and_miners(self) -> None:
        pool_args = [
            "pool", "--network", "regtest", "--node", self.nodes[0].url,
            "--stratum-bind", f"127.0.0.1:{self.stratum_port}",
            "--api-bind", f"127.0.0.1:{self.pool_api_port}",
            "--scheme", "prop", "--operator", self.operator, "--fee", "1",
            "--difficulty", "0.02", "--datadir", str(self.root / "pool"), "--log-format", "json",
        ]  # fmt: skip
        pool = Child("pool", pool_args, self.root / "pool.log")
        self.children.append(pool)
        await pool.start()
        await wait_http(f"{self.pool_url}/v1/pool")
        for miner in self.miners:
            args = [
                "miner", "--url", f"stratum+tcp://127.0.0.1:{self.stratum_port}",
                "--user", f"{miner.address}.{miner.name}", "--threads", str(miner.threads),
                "--log-format", "json",
            ]  # fmt: skip
            child = Child(miner.name, args, self.root / f"{miner.name}.log")
            self.children.append(child)
            await child.start()

    def crashed(self) -> list[str]:
        return [c.name for c in self.children if c.process is not None and not c.running]

    async def stop(self) -> None:
        # miners and pool first, then the nodes, each group concurrently
        groups = [[c for c in self.children if c.name.startswith("node")]]
        groups.insert(0, [c for c in self.children if not c.name.startswith("node")])
        for group in groups:
            await asyncio.gather(*(child.stop() for child in group))


async def wait_http(url: str) -> None:
    """Poll ``url`` until it answers 200, or fail after ``START_DEADLINE`` seconds."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        async with asyncio.timeout(START_DEADLINE):
            while True:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.2)


def demo_root(datadir: str | None) -> Path:
    if datadir:
        return Path(datadir).expanduser()
    import tempfile

    return Path(tempfile.mkdtemp(prefix="seedchain-demo-", dir=os.environ.get("TMPDIR")))
