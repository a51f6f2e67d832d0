"""``TestNode``: one real Seedchain node for a functional test, with its own data directory and
ports, in this process or in a child process, behind one API.

- ``mode="inprocess"`` (default): ``Node(config).run()`` as a task on the test's event loop
  (``node_ops.TestNodeServer``, the node with test connection settings). Fast to start; the
  test may also reach inside (``test_node.node``, always through ``node.call`` for the chain
  and mempool).
- ``mode="process"``: ``python -m tests.framework.node_process -- <seedchain node args>``:
  the real CLI parser and config, a process of its own (its own GIL, its own memory), the
  same operations served over a loopback control channel. Ports are learned from the
  ``p2p_started`` / ``control_started`` log events (``--log-format json``, in ``node.log``).
- ``mode="cli"``: the plain ``seedchain node`` daemon, nothing added: only ``start``,
  ``stop``, ``p2p_address`` and ``pid`` work (talk to it with a ``P2PInterface``).

Hashes and txids are display hex strings (``hash_to_hex``) everywhere in this API.
"""

# The Bitcoin Core-style API takes explicit deadlines (``timeout=``) on purpose.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from consensus.block import Block
from consensus.params import REGTEST, ChainParams
from consensus.transaction import Transaction
from node.config import HostPort, NodeConfig
from p2p.settings import PeerSettings
from tests.framework.factory import Key
from tests.framework.node_ops import TEST_PEER_SETTINGS, NodeOps, TestNodeServer
from tests.framework.node_process import decode_value, encode_value
from tests.framework.util import wait_until

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


class NodeOpError(Exception):
    """An operation failed inside a child-process node (the error's class name is ``kind``)."""

    def __init__(self, kind: str, message: str, code: str | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.code = code


class NodeCrashed(RuntimeError):
    """A node under test stopped although nobody asked it to."""


class TestNode:
    """A node under test. ``await start()``, use it, ``await stop()`` (the fixture stops every
    node it made). ``index`` names it (``node0``...) and tags its coinbases."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        index: int,
        datadir: Path,
        *,
        mode: str = "inprocess",
        params: ChainParams = REGTEST,
        peers: Sequence[str] = (),
        peer_settings: PeerSettings = TEST_PEER_SETTINGS,
        stall_timeout: float | None = None,
        verify_processes: int = 0,
        cache_mb: int = NodeConfig.cache_mb,
        mine_to: str | None = None,
        persist_mempool: bool = True,
        extra_args: Sequence[str] = (),
        config_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        if mode not in ("inprocess", "process", "cli"):
            raise ValueError(f"unknown mode {mode!r}")
        self.index = index
        self.name = f"node{index}"
        self.datadir = Path(datadir)
        self.mode = mode
        self.params = params
        self.peers = tuple(peers)
        self.peer_settings = peer_settings
        self.stall_timeout = stall_timeout
        self.verify_processes = verify_processes
        self.cache_mb = cache_mb
        self.mine_to = mine_to
        self.persist_mempool = persist_mempool
        self.extra_args = tuple(extra_args)
        self.config_overrides = dict(config_overrides or {})  # NodeConfig fields, in-process
        self.tag = f"test{self.name}".encode()
        self.node: TestNodeServer | None = None  # in-process only
        self.ops: NodeOps | None = None
        self._task: asyncio.Task[None] | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self._control_port: int | None = None
        self._p2p_port = 0  # kept across restarts
        self.default_address = Key.from_index(1000 + index).address(params)

    def __repr__(self) -> str:
        return f"TestNode({self.name}, {self.mode}, port={self._p2p_port})"

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        if self.mode == "inprocess":
            return self._task is not None and not self._task.done()
        return self._process is not None and self._process.returncode is None

    @property
    def p2p_port(self) -> int:
        if not self._p2p_port:
            raise RuntimeError(f"{self.name} has not started")
        return self._p2p_port

    @property
    def p2p_address(self) -> str:
        return f"127.0.0.1:{self.p2p_port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            return os.getpid()
        return self._process.pid

    @property
    def log_path(self) -> Path:
        return self.datadir / "node.log"

    async def start(self, timeout: float = START_TIMEOUT) -> TestNode:
        if self.running:
            raise RuntimeError(f"{self.name} is running")
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.mode == "inprocess":
            await self._start_inprocess(timeout)
        else:
            await self._start_process(timeout)
        return self

    async def stop(self) -> None:
        """Stop the node cleanly (idempotent)."""
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._process is not None:
            process = self._process
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    async with asyncio.timeout(STOP_TIMEOUT):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()
            self._process = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        self.node = None
        self.ops = None

    async def kill(self) -> None:
        """SIGKILL a child-process node (no clean shutdown)."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        await self.stop()

    async def restart(self, timeout: float = START_TIMEOUT) -> TestNode:
        """Stop and start again on the same data directory and P2P port."""
        await self.stop()
        return await self.start(timeout)

    def config(self) -> NodeConfig:
        from node.config import parse_hostport

        return NodeConfig(
            params=self.params,
            datadir=self.datadir,
            p2p_bind=HostPort("127.0.0.1", self._p2p_port),
            api_bind=HostPort("127.0.0.1", 0),
            peers=tuple(parse_hostport(p) for p in self.peers),
            mine_to=self.mine_to,
            log_format="json",
            cache_mb=self.cache_mb,
            verify_processes=self.verify_processes,
            persist_mempool=self.persist_mempool,
            **self.config_overrides,
        )

    async def _start_inprocess(self, timeout: float) -> None:
        node = TestNodeServer(self.config(), peer_settings=self.peer_settings)
        task = asyncio.create_task(node.run(), name=self.name)
        started = asyncio.create_task(node.started.wait())
        await asyncio.wait({task, started}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not started.done():
            started.cancel()
            if task.done():
                task.result()  # raises why it did not start
            task.cancel()
            raise TimeoutError(f"{self.name} did not start within {timeout}s")
        self.node, self._task = node, task
        self.ops = NodeOps(node, self.tag)
        assert node.connmgr is not None
        self._p2p_port = node.connmgr.port
        if self.stall_timeout is not None:
            await self.ops.set_stall_timeout(self.stall_timeout)

    def _node_args(self) -> list[str]:
        args = [
            "--network", self.params.name,
            "--datadir", str(self.datadir),
            "--p2p-bind", f"127.0.0.1:{self._p2p_port}",
            "--api-bind", "127.0.0.1:0",
            "--log-format", "json",
            "--cache-mb", str(self.cache_mb),
            "--verify-processes", str(self.verify_processes),
        ]
        for peer in self.peers:
            args += ["--peer", peer]
        if self.mine_to:
            args += ["--mine-to", self.mine_to]
        if not self.persist_mempool:
            args.append("--no-persist-mempool")
        return [*args, *self.extra_args]

    async def _start_process(self, timeout: float) -> None:
        if self.mode == "cli":
            command = [str(Path(sys.executable).parent / "seedchain"), "node", *self._node_args()]
        else:
            command = [sys.executable, "-m", "tests.framework.node_process", "--tag",
                       self.tag.decode(), "--handshake-timeout",
                       str(self.peer_settings.handshake_timeout)]
            if self.stall_timeout is not None:
                command += ["--stall-timeout", str(self.stall_timeout)]
            command += ["--", *self._node_args()]
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with self.log_path.open("ab") as log_file:
            self._process = await asyncio.create_subprocess_exec(
                *command, cwd=str(ROOT), env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file, stderr=log_file,
            )
        events: dict[str, int] = {}
        wanted = {"p2p_started"} if self.mode == "cli" else {"p2p_started", "control_started"}

        def started() -> bool:
            if self._process is not None and self._process.returncode is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self._process.returncode}; see {self.log_path}"
                )
            with self.log_path.open("rb") as f:
                f.seek(offset)
                for line in f:
                    with contextlib.suppress(ValueError):
                        record = json.loads(line)
                        if record.get("event") in wanted:
                            events[record["event"]] = int(record["port"])
            return wanted <= events.keys()

        try:
            await wait_until(started, timeout, interval=0.05, message=f"{self.name} start")
        except BaseException:
            await self.kill()
            raise
        self._p2p_port = events["p2p_started"]
        if self.mode == "process":
            self._control_port = events["control_started"]
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_read=600)
            )

    # --- operations ---------------------------------------------------------------------------
    async def _op(self, name: str, *args: Any) -> Any:
        if self.mode == "inprocess":
            if self.ops is None:
                raise RuntimeError(f"{self.name} is not running")
            self.check_alive()
            return await getattr(self.ops, name)(*args)
        if self.mode == "cli" or self._session is None:
            raise RuntimeError(f"{self.name}: operation {name} needs a running mode='process' node")
        url = f"http://127.0.0.1:{self._control_port}/op/{name}"
        async with self._session.post(url, json={"args": encode_value(list(args))}) as response:
            body = await response.json()
        if "error" in body:
            raise NodeOpError(body["error"], body.get("message", ""), body.get("code"))
        return decode_value(body["result"], self.params)

    def check_alive(self) -> None:
        """Raise if the node stopped on its own (in-process: with the exception that ended
        its ``run()``; child process: with its exit code)."""
        task = self._task
        if task is not None and task.done():
            error = None if task.cancelled() else task.exception()
            raise NodeCrashed(f"{self.name} stopped on its own: {error!r}") from error
        process = self._process
        if process is not None and process.returncode is not None:
            raise NodeCrashed(f"{self.name} exited with {process.returncode}; see {self.log_path}")

    async def call(self, fn: Any, *args: Any) -> Any:
        """In-process only: run ``fn(*args)`` on the node's chain thread."""
        if self.node is None:
            raise RuntimeError("call() needs a running in-process node")
        return await self.node.call(fn, *args)

    async def height(self) -> int:
        return int(await self._op("height"))

    async def tip(self) -> str:
        return str(await self._op("tip"))

    async def best_block(self) -> tuple[int, str]:
        height, tip = await self._op("best_block")
        return int(height), str(tip)

    async def utxo_hash(self) -> str:
        return str(await self._op("utxo_hash"))

    async def mempool_txids(self) -> set[str]:
        return set(await self._op("mempool_txids"))

    async def mempool_size(self) -> int:
        return int(await self._op("mempool_size"))

    async def block_hash(self, height: int) -> str | None:
        result = await self._op("block_hash", height)
        return None if result is None else str(result)

    async def get_block(self, block_hash: str) -> Block | None:
        result = await self._op("get_block", block_hash)
        assert result is None or isinstance(result, Block)
        return result

    async def send_tx(self, tx: Transaction) -> dict[str, Any]:
        """Submit a transaction as a wallet would; raises if the node refuses it."""
        result: dict[str, Any] = await self._op("send_tx", tx)
        return result

    async def send_txs(self, txs: Sequence[Transaction]) -> int:
        return int(await self._op("send_txs", list(txs)))

    async def submit_block(self, block: Block) -> str:
        return str(await self._op("submit_block", block))

    async def submit_blocks(self, blocks: Sequence[Block], batch: int = 500) -> int:
        """Accept ``blocks`` in order (in batches); returns the height afterwards."""
        height = await self.height()
        for start in range(0, len(blocks), batch):
            height = int(await self._op("submit_blocks", list(blocks[start : start + batch])))
        return height

    async def generate(self, count: int, address: str | None = None) -> list[str]:
        """Mine ``count`` blocks now on this node's tip (its mempool included), paying
        ``address`` (this node's own default address if not given); their hashes."""
        return list(await self._op("generate", count, address or self.default_address))

    async def connect(self, address: str) -> int:
        return int(await self._op("connect", address))

    async def peer_info(self) -> list[dict[str, Any]]:
        return list(await self._op("peers"))

    async def peer_count(self) -> int:
        return len(await self.peer_info())

    async def close_peer(self, nonce: int) -> bool:
        return bool(await self._op("close_peer", nonce))

    async def is_discouraged(self, address: str) -> bool:
        return bool(await self._op("is_discouraged", address))

    async def set_stall_timeout(self, seconds: float) -> None:
        self.stall_timeout = seconds
        await self._op("set_stall_timeout", seconds)

    async def sync_state(self) -> dict[str, Any]:
        return dict(await self._op("sync_state"))

    # --- convenience --------------------------------------------------------------------------
    async def wait_for_height(self, height: int, timeout: float = 30.0) -> None:
        async def reached() -> bool:
            return await self.height() >= height

        await wait_until(reached, timeout, message=f"{self.name} at height {height}")

