"""One Stratum v1 connection: newline-delimited JSON-RPC, its limits and its state.

May import consensus, structlog, the standard library and ``pool`` modules. A session answers
``mining.subscribe``, ``mining.authorize``, ``mining.configure`` (BIP 310 version rolling),
``mining.suggest_difficulty``, ``mining.extranonce.subscribe`` and ``mining.submit``; it is sent
``mining.set_difficulty`` and ``mining.notify``. Jobs start flowing once the connection is both
subscribed and authorized.

A difficulty change (vardiff or a suggestion) is sent at once and applies to the jobs sent after
it, as cpuminer applies it at the next ``mining.notify``; the session therefore re-sends the
current job under a new id, and remembers the difficulty of every job id it sent so that
shares of older jobs count at the difficulty they were mined at.

Limits (``StratumSettings``): line length, message rate (a token bucket; a flood closes the
connection), a deadline to subscribe and one to submit a share, and a cap on the write buffer (a
miner that stops reading is dropped instead of growing our memory).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from pool.credentials import parse_user, password_difficulty
from pool.errors import (
    NotSubscribed,
    OtherError,
    ProtocolViolation,
    StratumError,
    UnauthorizedWorker,
)
from pool.jobs import Job
from pool.resume import SavedSession
from pool.shares import CheckedShare, check_share, parse_submit
from pool.vardiff import Vardiff, VardiffConfig
from pool.wire import (
    difficulty_json,
    difficulty_to_target,
    network_difficulty_cap,
    notification,
    response,
)

if TYPE_CHECKING:
    from pool.server import StratumServer

log = structlog.get_logger("seedchain.pool.stratum")
MAX_JOBS_REMEMBERED = 256


@dataclass(frozen=True)
class StratumSettings:
    max_line: int = 16 * 1024
    max_connections: int = 10_000
    max_connections_per_ip: int = 64
    message_rate: float = 50.0  # sustained messages per second per connection
    message_burst: float = 500.0
    subscribe_timeout: float = 30.0
    share_timeout: float = 600.0
    max_write_buffer: int = 1 << 20
    max_workers_per_connection: int = 64
    version_mask: int = 0x1FFFE000  # BIP 320's general-purpose bits
    vardiff: VardiffConfig = field(default_factory=VardiffConfig)


@dataclass(frozen=True, slots=True)
class AcceptedShare:
    job: Job
    checked: CheckedShare
    address: str
    worker: str
    difficulty: float
    share_target: int
    time: float


class ShareSink(Protocol):
    """Where a valid share goes: logged (and, if a block, submitted) before the miner is told
    it was accepted. May raise a :class:`StratumError` (e.g. the job went stale)."""

    async def accept_share(self, share: AcceptedShare) -> None: ...


class StratumSession:
    def __init__(
        self,
        server: StratumServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        extranonce1: bytes,
        peer: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.server = server
        self.settings = server.settings
        self.reader = reader
        self.writer = writer
        self.extranonce1 = extranonce1
        self.peer = peer
        self.clock = clock
        now = clock()
        self.connected_at = now
        self.subscribed = False
        self.authorized: dict[str, tuple[str, str]] = {}  # user -> (address, worker)
        self.payout_address: str | None = None
        self.version_mask = 0
        self.vardiff = Vardiff(self.settings.vardiff, now)
        self.last_activity = now  # authorization or last accepted share
        self.accepted = 0
        self.rejected = 0
        self.sent_jobs = 0
        self._job_difficulty: OrderedDict[str, float] = OrderedDict()
        self._current_job: Job | None = None
        self._sent_difficulty: float | None = None
        self._tokens = self.settings.message_burst
        self._refilled = time.monotonic()
        self.closed = False
        self.log = log.bind(peer=peer, extranonce1=extranonce1.hex())

    def saved_state(self) -> SavedSession:
        """What a reconnection that resumes this session gets back (``pool.resume``)."""
        vardiff = self.vardiff
        jobs = tuple(self._job_difficulty.items())
        return SavedSession(vardiff.difficulty, vardiff.floor, jobs)

    def sent_at_another_difficulty(self, job: Job) -> bool:
        """Whether ``job``'s id was sent at a difficulty other than the current one (by the
        connection this one resumed): resending it would change what its shares must meet."""
        known = self._job_difficulty.get(job.job_id)
        return known is not None and known != self.vardiff.difficulty

    def restore(self, saved: SavedSession) -> None:
        self.vardiff.floor = saved.floor
        self.vardiff.difficulty = saved.difficulty
        self._job_difficulty = OrderedDict(saved.job_difficulty)

    @property
    def ready(self) -> bool:
        return self.subscribed and bool(self.authorized) and not self.closed

    # --- writing ------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if self.closed:
            return
        self.writer.write(data)
        transport = self.writer.transport
        if transport.get_write_buffer_size() > self.settings.max_write_buffer:
            self.log.warning("stratum_slow_reader_dropped")
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()

    def send_job(self, job: Job, line: bytes) -> None:
        """Send ``job`` (its ``mining.notify`` line), preceded by a difficulty change if any."""
        difficulty = self.vardiff.difficulty
        if self.server.params.retarget:
            # Never above the network difficulty: a header that is a block must be a share,
            # or the miner would not send it. (Regtest is exempt: every hash is a block there,
            # so the cap would turn every hash into a submission.)
            difficulty = min(difficulty, network_difficulty_cap(job.network_target))
            self.vardiff.difficulty = difficulty  # vardiff goes on from the capped value
        if difficulty != self._sent_difficulty:
            self._sent_difficulty = difficulty
            self.send(notification("mining.set_difficulty", [difficulty_json(difficulty)]))
        self._job_difficulty[job.job_id] = difficulty
        while len(self._job_difficulty) > MAX_JOBS_REMEMBERED:
            self._job_difficulty.popitem(last=False)
        self._current_job = job
        self.sent_jobs += 1
        self.send(line)

    def _difficulty_changed(self) -> None:
        """Send the new difficulty with the current job under a new id (clean_jobs=false)."""
        job = self._current_job
        if job is None or not self.ready:
            return
        clone = self.server.jobs.clone(job)
        if clone is not None:
            self.send_job(clone, clone.notify_line(False))

    # --- reading ------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            while not self.closed:
                line = await self._next_line()
                if line is None:
                    continue
                self._spend_token()
                await self._handle_line(line)
        except ProtocolViolation as exc:
            self.log.info("stratum_connection_closed", reason=str(exc))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.close()

    async def _next_line(self) -> bytes | None:
        now = self.clock()
        if not self.ready:  # subscribe and authorize within the first deadline
            deadline = self.connected_at + self.settings.subscribe_timeout
        else:
            deadline = self.last_activity + self.settings.share_timeout
        wake = min(deadline, now + self.settings.vardiff.target_interval)
        try:
            async with asyncio.timeout(max(0.0, wake - now)):
                return await self.reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise ProtocolViolation("line too long") from None
        except ValueError as exc:  # the limit was hit inside readuntil's buffer handling
            raise ProtocolViolation(f"bad line: {exc}") from None
        except TimeoutError:
            now = self.clock()
            if now >= deadline:
                raise ProtocolViolation(
                    "no share in time" if self.ready else "no subscribe and authorize in time"
                ) from None
            if self.ready and self.vardiff.check(now) is not None:
                self._difficulty_changed()
            return None

    def _spend_token(self) -> None:
        now = time.monotonic()
        rate, burst = self.settings.message_rate, self.settings.message_burst
        self._tokens = min(burst, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens < 1:
            raise ProtocolViolation("message rate exceeded")
        self._tokens -= 1

    async def _handle_line(self, line: bytes) -> None:
        text = line.strip()
        if not text:
            return
        try:
            message = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolViolation("not JSON") from None
        if not isinstance(message, dict):
            raise ProtocolViolation("not a JSON-RPC object")
        method, request_id = message.get("method"), message.get("id")
        if method is None:
            return  # a response to something we sent (we send no requests): ignore
        params = message.get("params", [])
        try:
            result = await self._dispatch(method, params)
        except StratumError as exc:
            self._refused(method, request_id, exc)
            return
        except Exception:  # the per-request boundary: this request fails, the pool goes on
            self.log.exception("stratum_request_failed", method=str(method)[:40])
            self._refused(method, request_id, OtherError("internal error"))
            return
        if request_id is not None:
            self.send(response(request_id, result))
        if method in ("mining.subscribe", "mining.authorize"):
            await self.server.start_jobs(self)

    def _refused(self, method: Any, request_id: Any, exc: StratumError) -> None:
        if method == "mining.submit":
            self.rejected += 1
            self.server.metrics.count_rejected(exc.code)
            self.log.debug("stratum_share_rejected", code=exc.code, reason=exc.message)
        self.send(response(request_id, False, exc.to_json()))

    async def _dispatch(self, method: Any, params: Any) -> Any:
        if not isinstance(params, list):
            params = [params] if params is not None else []
        if method == "mining.submit":
            return await self._submit(params)
        if method == "mining.subscribe":
            return self._subscribe(params)
        if method == "mining.authorize":
            return self._authorize(params)
        if method == "mining.configure":
            return self._configure(params)
        if method == "mining.suggest_difficulty":
            return self._suggest(params)
        if method in ("mining.extranonce.subscribe", "mining.multi_version"):
            return True
        raise OtherError(f"unknown method {str(method)[:40]!r}")

    # --- methods ------------------------------------------------------------------------------
    def _subscribe(self, params: list[Any]) -> list[Any]:
        """``[user_agent, session_id]``: a known session id of a closed connection resumes it
        (``pool.resume``); the answer's subscription id is what to send next time."""
        if not self.subscribed and len(params) > 1 and self.server.resume(self, params[1]):
            self.log = log.bind(peer=self.peer, extranonce1=self.extranonce1.hex())
            self.log.info("stratum_session_resumed", difficulty=self.vardiff.difficulty)
        self.subscribed = True
        sid = self.extranonce1.hex()
        return [
            [["mining.set_difficulty", sid], ["mining.notify", sid]],
            self.extranonce1.hex(),
            self.server.extranonce2_size,
        ]

    def _authorize(self, params: list[Any]) -> bool:
        user = params[0] if params else None
        if user not in self.authorized:
            if len(self.authorized) >= self.settings.max_workers_per_connection:
                raise UnauthorizedWorker("too many workers on this connection")
            address, worker = parse_user(user, self.server.params.hrp)
            self.authorized[str(user)] = (address, worker)
            self.payout_address = self.payout_address or address
            self.last_activity = self.clock()
            self.log.info("stratum_worker_authorized", address=address, worker=worker)
            asked = password_difficulty(params[1] if len(params) > 1 else None)
            if asked is not None and self.vardiff.suggest(asked, self.clock()) is not None:
                self._difficulty_changed()  # "d=N" in the password: as suggest_difficulty
        return True

    def _configure(self, params: list[Any]) -> dict[str, Any]:
        extensions = params[0] if params and isinstance(params[0], list) else []
        options = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        result: dict[str, Any] = {}
        for name in extensions:
            if name == "version-rolling":
                try:
                    asked = int(str(options.get("version-rolling.mask", "ffffffff")), 16)
                except ValueError:
                    raise OtherError("bad version-rolling.mask") from None
                self.version_mask = asked & self.settings.version_mask & 0xFFFFFFFF
                result["version-rolling"] = True
                result["version-rolling.mask"] = f"{self.version_mask:08x}"
            elif name == "minimum-difficulty":
                value = options.get("minimum-difficulty.value")
                if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                    self.vardiff.suggest(float(value), self.clock())
                    result["minimum-difficulty"] = True
                else:
                    result["minimum-difficulty"] = False
            elif name == "subscribe-extranonce":
                result["subscribe-extranonce"] = True
            else:
                result[str(name)] = False
        return result

    def _suggest(self, params: list[Any]) -> bool:
        value = params[0] if params else None
        if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
            raise OtherError("suggested difficulty must be a positive number")
        if self.vardiff.suggest(float(value), self.clock()) is not None:
            self._difficulty_changed()
        return True

    async def _submit(self, params: list[Any]) -> bool:
        if not self.subscribed:
            raise NotSubscribed("not subscribed")
        user = params[0] if params else None
        identity = self.authorized.get(user) if isinstance(user, str) else None
        if identity is None:
            raise UnauthorizedWorker("unauthorized worker")
        submission = parse_submit(params)
        job = self.server.jobs.get(submission.job_id)
        difficulty = self._job_difficulty.get(submission.job_id)
        if difficulty is None:
            job = None  # never sent to this connection, or forgotten: stale
        now = self.clock()
        share_target = difficulty_to_target(difficulty or 1.0)
        checked = check_share(
            job,
            self.extranonce1,
            submission,
            version_mask=self.version_mask,
            share_target=share_target,
            now=int(now),
            max_future=self.server.max_future_ntime,
            seen=self.server.jobs.seen,
        )
        assert job is not None and difficulty is not None
        address, worker = identity
        share = AcceptedShare(job, checked, address, worker, difficulty, share_target, now)
        await self.server.sink.accept_share(share)
        self.accepted += 1
        self.last_activity = now
        self.server.metrics.count_accepted(difficulty, checked.is_block)
        if self.vardiff.on_share(difficulty, now) is not None:
            self._difficulty_changed()
        return True
