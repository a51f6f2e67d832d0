"""``seedchain miner``: a Stratum v1 mining client on the multi-core ``mining.Miner``.

May import consensus, mining, structlog, the standard library and ``pool`` modules. It behaves
like cpuminer: ``mining.subscribe`` then ``mining.authorize``; a ``mining.set_difficulty``
applies from the next ``mining.notify``; every notify replaces the work at once (the search is
cancelled within one chunk); headers are built as in :mod:`pool.clientwork`; each header that
meets the share target is sent with ``mining.submit``. A lost connection is retried with
exponential backoff (1 s doubling to 60 s, reset after a connection that lasted a minute).
Events: ``miner_connected``, ``share_accepted`` / ``share_rejected`` (with the pool's reason),
and every ``stats_interval`` seconds ``miner_status`` with the hash rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import socket
import time
from typing import Any

import structlog

from mining.miner import Miner
from pool.clientwork import BadNotify, ClientJob, JobWork
from pool.wire import difficulty_to_target, encode_line, u32_hex

log = structlog.get_logger("seedchain.miner")
MAX_LINE = 1 << 20
CALL_TIMEOUT = 30.0


class StratumClientError(Exception):
    """The pool refused a request (``code``: its Stratum error code) or broke the protocol."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class StratumMiner:
    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str = "x",
        *,
        threads: int = 1,
        backend: str | None = None,
        stats_interval: float = 10.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        connect_timeout: float = 10.0,
        suggest_difficulty: float | None = None,
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.miner = Miner(threads=threads, backend=backend)
        self.stats_interval = stats_interval
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.connect_timeout = connect_timeout
        self.suggest_difficulty = suggest_difficulty
        self.accepted = 0
        self.rejected = 0
        self.connections = 0
        self.difficulty = 1.0
        self._next_difficulty = 1.0
        self._job: ClientJob | None = None
        self._stale_job: str | None = None
        self._job_target = 0
        self._job_changed = asyncio.Event()
        self._extranonce1 = b""
        self._extranonce2_size = 4
        self._extranonce2_next = 0
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._writer: asyncio.StreamWriter | None = None

    @property
    def hashrate(self) -> float:
        """MH/s over the last few seconds."""
        return self.miner.hashrate

    async def run(self) -> None:
        """Mine until cancelled, reconnecting with backoff."""
        delay = self.backoff_initial
        try:
            while True:
                started = time.monotonic()
                try:
                    await self._session()
                except* Exception as group:
                    errors = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
                    log.warning("miner_disconnected", error=errors, retry_in=delay)
                if time.monotonic() - started > 60:
                    delay = self.backoff_initial
                await asyncio.sleep(delay)
                delay = min(self.backoff_max, delay * 2)
        finally:
            await self.miner.aclose()

    # --- one connection ---------------------------------------------------------------------------
    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect within ``connect_timeout``, trying each address of the pool's name in turn.

        The name is looked up here rather than by ``open_connection``: uvloop's
        ``create_connection`` waits for its own lookup without cancelling it at the deadline, so
        a lookup that failed afterwards was logged as "Future exception was never retrieved"
        (seen in the compose cluster while the pool's container was stopping). Awaited directly,
        the lookup is cancelled with the deadline; the numeric address then needs none."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.connect_timeout):
            infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            error = OSError(f"no address for {self.host}")
            for *_, address in infos:
                try:
                    return await asyncio.open_connection(
                        str(address[0]), int(address[1]), limit=MAX_LINE
                    )
                except OSError as exc:
                    error = exc
            raise error

    async def _session(self) -> None:
        reader, writer = await self._open()
        self._writer = writer
        self._job = None
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._read_loop(reader))
                subscribed = await self._call("mining.subscribe", ["seedchain-miner/0.1"])
                self._take_subscription(subscribed)
                if self.suggest_difficulty is not None:
                    await self._call("mining.suggest_difficulty", [self.suggest_difficulty])
                if await self._call("mining.authorize", [self.user, self.password]) is not True:
                    raise StratumClientError("the pool refused the user")
                self.connections += 1
                log.info("miner_connected", host=self.host, port=self.port, user=self.user)
                tasks.create_task(self._mine_loop())
                tasks.create_task(self._report_loop())
        finally:
            self._writer = None
            for future in self._pending.values():
                future.cancel()
            self._pending.clear()
            writer.close()

    def _take_subscription(self, result: Any) -> None:
        try:
            extranonce1 = bytes.fromhex(result[1])
            size = int(result[2])
        except (TypeError, ValueError, IndexError) as exc:
            raise StratumClientError(f"bad mining.subscribe answer: {exc}") from None
        if not 1 <= size <= 8:
            raise StratumClientError(f"extranonce2 size {size} is not supported")
        self._extranonce1, self._extranonce2_size = extranonce1, size

    def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None:
            raise ConnectionError("not connected")
        self._writer.write(encode_line(message))

    def _request(self, method: str, params: list[Any]) -> asyncio.Future[Any]:
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._send({"id": request_id, "method": method, "params": params})
        return future

    async def _call(self, method: str, params: list[Any]) -> Any:
        async with asyncio.timeout(CALL_TIMEOUT):
            return await self._request(method, params)

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionError("the pool closed the connection")
            try:
                message = json.loads(line)
            except ValueError:
                raise StratumClientError("the pool sent something that is not JSON") from None
            if not isinstance(message, dict):
                continue
            if message.get("method"):
                self._notification(message["method"], message.get("params") or [])
                continue
            future = self._pending.pop(message.get("id"), None)  # type: ignore[arg-type]
            if future is None or future.done():
                continue
            error = message.get("error")
            if error:
                code = error[0] if isinstance(error, list) and error else None
                text = error[1] if isinstance(error, list) and len(error) > 1 else error
                future.set_exception(
                    StratumClientError(str(text), code if isinstance(code, int) else None)
                )
            else:
                future.set_result(message.get("result"))

    def _notification(self, method: str, params: list[Any]) -> None:
        if method == "mining.set_difficulty" and params:
            value = params[0]
            if isinstance(value, int | float) and value > 0:
                self._next_difficulty = float(value)
        elif method == "mining.notify":
            try:
                job = ClientJob.from_notify(params)
            except BadNotify as exc:
                log.warning("miner_bad_notify", error=str(exc))
                return
            self.difficulty = self._next_difficulty
            self._job, self._job_target = job, difficulty_to_target(self.difficulty)
            self._job_changed.set()
        elif method == "mining.set_extranonce" and len(params) >= 2:
            with contextlib.suppress(StratumClientError):
                self._take_subscription([None, params[0], params[1]])
        elif method == "client.reconnect":
            raise ConnectionError("the pool asked us to reconnect")
        elif method == "client.show_message":
            log.info("pool_message", message=str(params[:1]))

    # --- mining -----------------------------------------------------------------------------------
    async def _mine_loop(self) -> None:
        while True:
            await self._job_changed.wait()
            self._job_changed.clear()
            job, target = self._job, self._job_target
            if job is None or job.job_id == self._stale_job:
                continue
            while not self._job_changed.is_set():
                start = self._extranonce2_next
                search = JobWork(job, self._extranonce1, self._extranonce2_size, start)
                solve = asyncio.ensure_future(self.miner.solve(search.work, target))
                changed = asyncio.ensure_future(self._job_changed.wait())
                try:
                    await asyncio.wait({solve, changed}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (solve, changed):
                        task.cancel()
                    await asyncio.gather(solve, changed, return_exceptions=True)
                solution = None
                if not solve.cancelled() and solve.exception() is None:
                    solution = solve.result()
                used = solution.roll if solution is not None else search.rolls_used
                self._extranonce2_next = start + used + 1
                if solution is None:
                    if solve.done() and not solve.cancelled() and solve.exception() is not None:
                        raise solve.exception()  # type: ignore[misc]
                    continue
                self._submit(job, search.extranonce2(solution.roll), solution.nonce)

    def _submit(self, job: ClientJob, extranonce2: bytes, nonce: int) -> None:
        params = [self.user, job.job_id, extranonce2.hex(), job.ntime.hex(), u32_hex(nonce)]
        future = self._request("mining.submit", params)
        future.add_done_callback(functools.partial(self._submitted, job.job_id))

    def _submitted(self, job_id: str, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        stale = isinstance(error, StratumClientError) and error.code == 21
        if stale and self._job is not None and self._job.job_id == job_id:
            # The job is stale (a new block): stop hashing it until the next notify.
            self._stale_job = job_id
            self._job_changed.set()
        if error is None and future.result() is True:
            self.accepted += 1
            log.info(
                "share_accepted",
                accepted=self.accepted,
                rejected=self.rejected,
                difficulty=self.difficulty,
            )
        else:
            self.rejected += 1
            log.info(
                "share_rejected",
                accepted=self.accepted,
                rejected=self.rejected,
                reason=str(error) if error else "result false",
            )

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(self.stats_interval)
            log.info(
                "miner_status",
                hashrate_mhs=round(self.hashrate, 3),
                accepted=self.accepted,
                rejected=self.rejected,
                difficulty=self.difficulty,
                job=None if self._job is None else self._job.job_id,
            )
