"""Stratum jobs: a template plus the coinbase paying the current split, cut for ``mining.notify``.

May import consensus, the standard library and ``pool`` modules. A :class:`Job` is immutable;
the :class:`JobManager` makes a new one when the tip changes (``clean_jobs=true``: every older
job becomes stale, answered with error 21) or when the template's content or the payout split
changes (a refresh, ``clean_jobs=false``: older jobs of the same tip stay valid, up to
``max_jobs``). With the SOLO scheme every payout address gets its own job (its coinbase pays
that address); otherwise all connections share one job and differ only in extranonce1.

A job is also re-made (a refresh, ``clean_jobs=false``, with the template's current time as
``ntime``) once the current one is ``refresh_interval`` seconds old, even if nothing else
changed: cpuminer stops hashing when it has had no new job id for 120 s (and drops the
connection after 120 s of silence), so a pool must send work more often than that.

A job re-sent to one connection under a new id with a new difficulty (:meth:`JobManager.clone`)
gets a later ``ntime``: cpuminer restarts extranonce2 at 0 for every new job id and keeps
mining its current work — at its old difficulty — for as long as the first 76 bytes of the
header it would build from the new job equal those of its current work, so a clone with the
same ``ntime`` would never take effect.

Duplicate shares are found by header hash over every job of the current tip, so the same work
sent under two job ids of identical content still counts once.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from consensus.addresses import address_to_lock
from consensus.block import Block, BlockHeader
from consensus.coinbase import make_coinbase, split_coinbase
from consensus.params import ChainParams
from consensus.pow import block_work
from consensus.transaction import Transaction, TxOut
from pool.accounting import Accounting, JobPayout
from pool.nodeclient import Template
from pool.wire import notification, prevhash_to_stratum, u32_hex

DEFAULT_TAG = b"/seedchain-pool/"
DEFAULT_REFRESH_INTERVAL = 30.0  # seconds; cpuminer idles after 120 s without a new job id
MAX_NTIME_LEAD = 60  # a clone's ntime runs ahead of the clock by at most this many seconds


@dataclass(frozen=True, eq=False)
class Job:
    job_id: str
    template: Template
    coinb1: bytes
    coinb2: bytes
    payout: JobPayout
    address: str | None  # SOLO: the address this job's coinbase pays
    created: float
    generation: int
    ntime: int  # the ``ntime`` this job's notify sends (the template's time, or later)
    notify_params: list[Any] = field(repr=False)

    @property
    def height(self) -> int:
        return self.template.height

    @property
    def version(self) -> int:
        return self.template.version

    @property
    def network_target(self) -> int:
        return self.template.target

    def notify_line(self, clean: bool) -> bytes:
        return notification("mining.notify", [*self.notify_params, clean])

    def block(self, header: bytes, coinbase: bytes) -> Block:
        """The full block of a solved header: the coinbase, then the template's transactions."""
        transactions = (Transaction.decode(coinbase), *self.template.transactions)
        return Block(BlockHeader.decode(header), transactions)


def build_job(
    job_id: str,
    template: Template,
    payout: JobPayout,
    hrp: str,
    tag: bytes,
    address: str | None,
    generation: int,
    now: float,
) -> Job:
    outputs = [TxOut(value, address_to_lock(addr, hrp)) for addr, value in payout.payout.outputs]
    coinbase = make_coinbase(template.height, outputs, tag=tag)
    coinb1, coinb2 = split_coinbase(coinbase)
    params = [
        job_id,
        prevhash_to_stratum(template.previous_hash),
        coinb1.hex(),
        coinb2.hex(),
        [h.hex() for h in template.merkle_branch],
        u32_hex(template.version),
        u32_hex(template.bits),
        u32_hex(template.time),
    ]
    return Job(
        job_id, template, coinb1, coinb2, payout, address, now, generation, template.time, params
    )


class JobManager:
    def __init__(
        self,
        params: ChainParams,
        accounting: Accounting,
        *,
        tag: bytes = DEFAULT_TAG,
        max_jobs: int = 10_000,
        refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.params = params
        self.accounting = accounting
        self.tag = tag
        self.max_jobs = max_jobs
        self.refresh_interval = refresh_interval
        self.clock = clock
        self._generation_time = clock()  # when the jobs of this generation were made
        self.template: Template | None = None
        self.current: Job | None = None  # the shared job (PPLNS, PROP)
        self.generation = 0
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._solo: dict[str, Job] = {}  # address -> its job of this generation
        self._solo_carried: dict[str, int] = {}
        self._seen: set[bytes] = set()
        # Job ids count on from a random start, so that a share for a job of an earlier run of
        # the pool (a miner that has not yet noticed a restart) is stale (21), never judged
        # against an unrelated job that happens to have the same id.
        self._next_id = secrets.randbits(32)
        self._stale_tip: bytes | None = None

    @property
    def solo(self) -> bool:
        return self.accounting.scheme == "solo"

    def get(self, job_id: str) -> Job | None:
        """A job still valid for shares (None: unknown or stale)."""
        job = self._jobs.get(job_id)
        if job is None or job.template.previous_hash == self._stale_tip:
            return None
        return job

    def oldest_window_start(self) -> int | None:
        """The oldest window start among jobs still valid for shares (None: no such job)."""
        return min(
            (job.payout.window_start for job in self._jobs.values() if self.is_live(job)),
            default=None,
        )

    def is_live(self, job: Job) -> bool:
        return self.get(job.job_id) is job

    def seen(self, header_hash: bytes) -> bool:
        """True if this header was already submitted on the current tip; records it if not."""
        if header_hash in self._seen:
            return True
        self._seen.add(header_hash)
        return False

    def invalidate_tip(self) -> None:
        """Our block on the current tip was accepted: its jobs are stale from now on."""
        if self.template is not None:
            self._stale_tip = self.template.previous_hash

    async def update(self, template: Template) -> tuple[bool, bool]:
        """Take a fresh template; returns ``(new_tip, changed)``. ``changed`` means jobs must be
        sent (with ``clean_jobs = new_tip``)."""
        old = self.template
        new_tip = old is None or old.previous_hash != template.previous_hash
        if new_tip:
            self._jobs.clear()
            self._seen.clear()
            self._stale_tip = None
        self.template = template
        due = self.clock() - self._generation_time >= self.refresh_interval
        if self.solo:
            # Carried balances are paid in every SOLO coinbase: a change calls for new jobs.
            carried = dict(self.accounting.carried)
            changed = (
                new_tip
                or due
                or old is None
                or old.content_key != template.content_key
                or carried != self._solo_carried
            )
            if changed:
                self._solo_carried = carried
                self._next_generation()
                self._solo.clear()
            return new_tip, changed
        payout = await self._payout(template, None)
        current = self.current
        if (
            not new_tip
            and not due
            and current is not None
            and current.template.content_key == template.content_key
            and current.payout.payout.outputs == payout.payout.outputs
        ):
            return False, False
        self._next_generation()
        self.current = self._make(template, payout, None)
        return new_tip, True

    def _next_generation(self) -> None:
        self.generation += 1
        self._generation_time = self.clock()

    def current_for(self, address: str) -> Job | None:
        """The job a connection paying ``address`` works on now, if any (never makes one)."""
        return self._solo.get(address) if self.solo else self.current

    async def job_for(self, address: str | None) -> Job | None:
        """The job to send a connection paying ``address`` (SOLO), or the shared job."""
        if not self.solo:
            return self.current
        if self.template is None or address is None:
            return None
        job = self._solo.get(address)
        if job is None:
            payout = await self._payout(self.template, address)
            job = self._make(self.template, payout, address)
            self._solo[address] = job
        return job

    async def _payout(self, template: Template, finder: str | None) -> JobPayout:
        return await self.accounting.payout(template.reward, block_work(template.bits), finder)

    def clone(self, job: Job) -> Job | None:
        """The same work under a new job id (sent with a new difficulty); None if stale.

        Its ``ntime`` moves on to the clock, or one second past ``job``'s if that is later (at
        most ``MAX_NTIME_LEAD`` seconds ahead of the clock), so that the header a miner builds
        from it differs from ``job``'s even at extranonce2 0 (see the module docstring)."""
        if not self.is_live(job):
            return None
        now = int(self.clock())
        ntime = max(now, job.ntime + 1)
        if ntime > now + MAX_NTIME_LEAD:
            ntime = job.ntime  # difficulty changes in a burst: this one waits for new work
        job_id = self._new_id()
        params = [job_id, *job.notify_params[1:7], u32_hex(ntime)]
        copy = replace(job, job_id=job_id, ntime=ntime, notify_params=params)
        self._remember(copy)
        return copy

    def _new_id(self) -> str:
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        return f"{self._next_id:x}"

    def _remember(self, job: Job) -> None:
        self._jobs[job.job_id] = job
        while len(self._jobs) > self.max_jobs:
            self._jobs.popitem(last=False)

    def _make(self, template: Template, payout: JobPayout, address: str | None) -> Job:
        job = build_job(
            self._new_id(),
            template,
            payout,
            self.params.hrp,
            self.tag,
            address,
            self.generation,
            self.clock(),
        )
        self._remember(job)
        return job
