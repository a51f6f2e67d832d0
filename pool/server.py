"""The Stratum v1 listener: accepts connections within limits, hands out extranonce1 values
(or a reconnecting miner's old one, ``pool.resume``), owns every session task and sends new jobs
to every ready connection.

May import consensus, structlog, the standard library and ``pool`` modules. Every session task
lives in the TaskGroup of :meth:`StratumServer.run`, which lasts until cancelled and closes every
connection in ``finally``. A session that fails is logged with its traceback and closed alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import Counter
from collections.abc import Callable

import structlog

from consensus.coinbase import EXTRANONCE1_SIZE, EXTRANONCE2_SIZE
from consensus.params import ChainParams
from pool.jobs import Job, JobManager
from pool.metrics import PoolMetrics
from pool.resume import ResumableSessions
from pool.session import ShareSink, StratumSession, StratumSettings

log = structlog.get_logger("seedchain.pool.stratum")
CLOSE_TIMEOUT = 2.0


class StratumServer:
    def __init__(
        self,
        params: ChainParams,
        settings: StratumSettings,
        jobs: JobManager,
        sink: ShareSink,
        metrics: PoolMetrics,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.params = params
        self.settings = settings
        self.jobs = jobs
        self.sink = sink
        self.metrics = metrics
        self.clock = clock
        self.extranonce2_size = EXTRANONCE2_SIZE
        # How far ahead of our clock a share's ntime may be: half the node's limit, so a
        # block from it is never refused as too new.
        self.max_future_ntime = params.max_future_block_time // 2
        self.sessions: dict[bytes, StratumSession] = {}
        self._per_ip: Counter[str] = Counter()
        self._next_extranonce1 = secrets.randbits(8 * EXTRANONCE1_SIZE)
        self.resumable = ResumableSessions(extranonce1_size=EXTRANONCE1_SIZE, clock=clock)
        self._tasks: asyncio.TaskGroup | None = None
        self.port: int | None = None
        self.started = asyncio.Event()

    async def run(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (0: any free port, see ``port``) until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            server = await asyncio.start_server(
                self._accept,
                host,
                port,
                limit=self.settings.max_line,
                backlog=4096,
                reuse_address=True,
            )
            try:
                self.port = int(server.sockets[0].getsockname()[1])
                log.info("stratum_listening", host=host, port=self.port)
                self.started.set()
                await asyncio.Future()  # until cancelled
            finally:
                server.close()
                for session in list(self.sessions.values()):
                    session.close()
                self._tasks = None

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._tasks is None:
            writer.close()
            return
        self._tasks.create_task(self._serve(reader, writer))

    def _allocate_extranonce1(self) -> bytes:
        while True:
            value = self._next_extranonce1
            self._next_extranonce1 = (value + 1) % (1 << (8 * EXTRANONCE1_SIZE))
            extranonce1 = value.to_bytes(EXTRANONCE1_SIZE, "big")
            if extranonce1 not in self.sessions and extranonce1 not in self.resumable:
                return extranonce1

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        ip = str(peername[0]) if isinstance(peername, tuple) else "unknown"
        if (
            len(self.sessions) >= self.settings.max_connections
            or self._per_ip[ip] >= self.settings.max_connections_per_ip
        ):
            self.metrics.connections_refused.inc()
            log.info("stratum_connection_refused", peer=ip, reason="connection limit")
            writer.close()
            return
        extranonce1 = self._allocate_extranonce1()
        session = StratumSession(self, reader, writer, extranonce1, ip, self.clock)
        self.sessions[extranonce1] = session
        self._per_ip[ip] += 1
        self.metrics.connections.set(len(self.sessions))
        try:
            await session.run()
        except Exception:  # the per-connection boundary
            log.exception("stratum_session_failed", peer=ip)
        finally:
            session.close()
            if session.subscribed:
                self.resumable.keep(session.extranonce1, session.saved_state())
            del self.sessions[session.extranonce1]  # resumed: not the one allocated here
            self._per_ip[ip] -= 1
            if self._per_ip[ip] <= 0:
                del self._per_ip[ip]
            self.metrics.connections.set(len(self.sessions))
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await writer.wait_closed()

    def resume(self, session: StratumSession, session_id: object) -> bool:
        """Give ``session`` the extranonce1 and state of the closed session ``session_id``
        (``pool.resume``); False when there is none to resume."""
        found = self.resumable.take(session_id)
        if found is None:
            return False
        extranonce1, saved = found
        del self.sessions[session.extranonce1]
        session.extranonce1 = extranonce1
        self.sessions[extranonce1] = session
        session.restore(saved)
        self.metrics.sessions_resumed.inc()
        return True

    async def start_jobs(self, session: StratumSession) -> None:
        """Send a freshly ready session its difficulty and first job."""
        if session.ready and session.sent_jobs == 0:
            job = await self.jobs.job_for(session.payout_address)
            if job is not None:
                if session.sent_at_another_difficulty(job):  # a resumed session
                    job = self.jobs.clone(job) or job  # the old id keeps its difficulty
                session.send_job(job, job.notify_line(True))

    async def broadcast(self, clean: bool) -> int:
        """Send the current job(s) to every ready session; returns how many got one."""
        shared = None if self.jobs.solo else self.jobs.current
        shared_line = None if shared is None else shared.notify_line(clean)
        sent = 0
        for session in list(self.sessions.values()):
            if not session.ready:
                continue
            if shared is not None and shared_line is not None:
                session.send_job(shared, shared_line)
            else:
                job: Job | None = await self.jobs.job_for(session.payout_address)
                if job is None:
                    continue
                session.send_job(job, job.notify_line(clean))
            sent += 1
        return sent

    @property
    def workers(self) -> int:
        return sum(len(s.authorized) for s in self.sessions.values())
