"""Helpers for the pool tests (no tests here).

* :class:`FakeChain`: a chain of real consensus blocks at chosen ``bits``, validated with the
  consensus rules a node applies to a submitted block (sanity, coinbase height and amount,
  known parent), most-work choice with first-seen ties, and templates with a few transactions
  so that the Stratum merkle branch is not empty.
* :class:`FakeNodeClient`: the pool's ``NodeClient`` protocol over a ``FakeChain``, in-process;
  :func:`fake_node_app`: the same chain behind the node's REST paths and JSON shapes (for the
  pool in a subprocess and for ``HttpNodeClient``).
* :class:`ScriptedMiner`: a Stratum v1 client written from the protocol as cpuminer implements
  it (``le32dec``/``be32enc`` word handling), independent of the pool's own code.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import struct
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiohttp import web

from consensus.block import Block
from consensus.block_rules import check_block_sanity, median_time
from consensus.coinbase import block_subsidy, coinbase_height
from consensus.errors import ConsensusError
from consensus.hashing import ZERO_HASH, hash_to_hex, hex_to_hash
from consensus.merkle import stratum_branch
from consensus.params import REGTEST, ChainParams
from consensus.pow import compact_to_target, target_to_compact
from consensus.transaction import OutPoint, Transaction, TxOut
from pool.config import PoolConfig
from pool.errors import BlockRejected, NodeError
from pool.nodeclient import BlockInfo, ChainInfo, SubmitResult, Template
from pool.service import Pool
from pool.session import StratumSettings
from pool.vardiff import VardiffConfig
from tests.framework.factory import Key, spend

OPERATOR = Key.from_index(50)
ALICE = Key.from_index(51)
BOB = Key.from_index(52)
CAROL = Key.from_index(53)


def bits_for_work(hashes: int) -> int:
    """Compact bits whose target takes about ``hashes`` hashes."""
    return target_to_compact((1 << 256) // hashes)


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


@contextlib.asynccontextmanager
async def mining(miners: Sequence[Any]) -> AsyncIterator[None]:
    """Run each miner's ``run()`` as a task for the body; cancel them all and wait at the end."""
    tasks = [asyncio.create_task(miner.run()) for miner in miners]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def wait_for(condition: Callable[[], bool], deadline: float = 20.0) -> None:
    """Poll ``condition`` until it holds, with a deadline."""
    async with asyncio.timeout(deadline):
        while not condition():  # noqa: ASYNC110 - a polled condition with a deadline
            await asyncio.sleep(0.01)


# --- the fake chain ---------------------------------------------------------------------------
@dataclass
class Entry:
    block: Block
    height: int
    seq: int


class FakeChain:
    def __init__(
        self,
        bits: int,
        *,
        params: ChainParams = REGTEST,
        tx_count: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.params = params
        self.bits = bits
        self.clock = clock
        genesis = params.genesis
        self.entries: dict[bytes, Entry] = {genesis.hash: Entry(genesis, 0, 0)}
        self.tip = genesis.hash
        self._seq = itertools.count(1)
        self.fees: dict[bytes, int] = {}
        self.transactions: list[Transaction] = []
        payer = Key.from_index(60)
        for i in range(tx_count):
            value = 10_000_000 * (i + 1)
            fee = 1_000 * (i + 1)
            outpoint = OutPoint(hashlib.sha256(b"fake coin %d" % i).digest(), 0)
            tx = spend(
                [(outpoint, TxOut(value, payer.lock), payer)], [TxOut(value - fee, payer.lock)]
            )
            self.transactions.append(tx)
            self.fees[tx.txid] = fee
        self.submitted: list[Block] = []
        self.refuse: str | None = None  # an error code: refuse every block with it

    @property
    def height(self) -> int:
        return self.entries[self.tip].height

    def best_chain(self) -> list[Block]:
        blocks = []
        h = self.tip
        while True:
            entry = self.entries[h]
            blocks.append(entry.block)
            if entry.height == 0:
                return blocks[::-1]
            h = entry.block.header.prev_hash

    def hash_at(self, height: int) -> bytes | None:
        chain = self.best_chain()
        return chain[height].hash if 0 <= height < len(chain) else None

    def _mtp(self, parent: bytes) -> int:
        times = []
        h = parent
        for _ in range(11):
            entry = self.entries[h]
            times.append(entry.block.header.time)
            if entry.height == 0:
                break
            h = entry.block.header.prev_hash
        return median_time(times[::-1])

    def reward(self, height: int, transactions: tuple[Transaction, ...] = ()) -> int:
        fees = sum(self.fees[tx.txid] for tx in transactions)
        return block_subsidy(height, self.params.halving_interval) + fees

    def template(self) -> Template:
        parent = self.entries[self.tip]
        txs = tuple(self.transactions)
        mtp = self._mtp(self.tip)
        return Template(
            height=parent.height + 1,
            previous_hash=self.tip,
            version=1,
            bits=self.bits,
            target=compact_to_target(self.bits),
            time=max(int(self.clock()), mtp + 1),
            min_time=mtp + 1,
            transactions=txs,
            fees=sum(self.fees[tx.txid] for tx in txs),
            reward=self.reward(parent.height + 1, txs),
            merkle_branch=tuple(stratum_branch([ZERO_HASH, *(tx.wtxid for tx in txs)])),
        )

    def submit(self, raw: bytes) -> SubmitResult:
        if self.refuse is not None:
            raise BlockRejected(self.refuse, "refused (simulated)")
        try:
            block = Block.decode(raw, self.params.max_block_size)
            check_block_sanity(block, self.params)
        except ConsensusError as exc:
            raise BlockRejected(exc.code, str(exc)) from None
        self.submitted.append(block)
        if block.hash in self.entries:
            return SubmitResult(block.hash_hex, self.entries[block.hash].height, "duplicate")
        if block.header.bits != self.bits:
            raise BlockRejected("bad_difficulty_bits", "wrong bits")
        parent = self.entries.get(block.header.prev_hash)
        if parent is None:
            return SubmitResult(block.hash_hex, None, "orphan")
        height = parent.height + 1
        if coinbase_height(block.transactions[0]) != height:
            raise BlockRejected("bad_coinbase_height", "wrong height")
        if block.header.time <= self._mtp(parent.block.hash):
            raise BlockRejected("timestamp_too_old", "time too old")
        unknown = [tx for tx in block.transactions[1:] if tx.txid not in self.fees]
        if unknown:
            raise BlockRejected("missing_inputs", "unknown transaction")
        if block.transactions[0].total_out() > self.reward(height, block.transactions[1:]):
            raise BlockRejected("coinbase_too_large", "coinbase pays too much")
        self.entries[block.hash] = Entry(block, height, next(self._seq))
        if height > self.height:
            self.tip = block.hash
            return SubmitResult(block.hash_hex, height, "connected")
        return SubmitResult(block.hash_hex, height, "stored")

    def mine_external(self, parent: bytes | None = None, tag: bytes = b"other") -> Block:
        """A block by someone else on ``parent`` (default: the tip), accepted at once."""
        from consensus.assemble import assemble_block, solve_block

        parent = self.tip if parent is None else parent
        entry = self.entries[parent]
        height = entry.height + 1
        block = assemble_block(
            parent,
            height,
            max(int(self.clock()), self._mtp(parent) + 1),
            self.bits,
            (),
            [TxOut(self.reward(height), Key.from_index(99).lock)],
            tag=tag,
        )
        solved = None
        start = 0
        while solved is None:
            solved = solve_block(block, start, 1 << 24)
            start += 1 << 24
        self.submit(solved.encoded)
        return solved

    def info(self, block_hash: bytes) -> BlockInfo | None:
        entry = self.entries.get(block_hash)
        if entry is None:
            return None
        prev = None if entry.height == 0 else hash_to_hex(entry.block.header.prev_hash)
        on_best = self.hash_at(entry.height) == block_hash
        return BlockInfo(hash_to_hex(block_hash), entry.height, prev, on_best)


class FakeNodeClient:
    """The pool's NodeClient protocol over a FakeChain; ``down = True`` simulates an outage."""

    def __init__(self, chain: FakeChain) -> None:
        self.fake = chain
        self.down = False
        self.calls = 0

    def _check(self) -> None:
        self.calls += 1
        if self.down:
            raise NodeError("connection refused (simulated)")

    async def chain(self) -> ChainInfo:
        self._check()
        return ChainInfo(self.fake.params.name, self.fake.height, hash_to_hex(self.fake.tip))

    async def tip_hash(self) -> str:
        self._check()
        return hash_to_hex(self.fake.tip)

    async def template(self, longpollid: str | None = None) -> Template:
        self._check()
        return self.fake.template()

    async def submit_block(self, block: bytes) -> SubmitResult:
        self._check()
        return self.fake.submit(block)

    async def block(self, block_hash: str) -> BlockInfo | None:
        self._check()
        return self.fake.info(hex_to_hash(block_hash))

    async def block_hash_at(self, height: int) -> str | None:
        self._check()
        found = self.fake.hash_at(height)
        return None if found is None else hash_to_hex(found)

    async def aclose(self) -> None:
        pass


def fake_node_app(chain: FakeChain) -> web.Application:
    """The FakeChain behind the node's REST paths, in the node API's JSON shapes."""

    def error(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"error": {"code": code, "message": message}}, status=status)

    async def chain_info(request: web.Request) -> web.Response:
        return web.json_response(
            {"network": chain.params.name, "height": chain.height, "tip": hash_to_hex(chain.tip)}
        )

    async def tip_hash(request: web.Request) -> web.Response:
        return web.Response(text=hash_to_hex(chain.tip))

    async def template(request: web.Request) -> web.Response:
        t = chain.template()
        return web.json_response(
            {
                "height": t.height,
                "previous_hash": hash_to_hex(t.previous_hash),
                "version": t.version,
                "bits": t.bits,
                "bits_hex": f"{t.bits:08x}",
                "target": f"{t.target:064x}",
                "time": t.time,
                "min_time": t.min_time,
                "transactions": [
                    {
                        "data": tx.encoded.hex(),
                        "txid": tx.txid_hex,
                        "wtxid": hash_to_hex(tx.wtxid),
                        "fee": chain.fees[tx.txid],
                        "size": tx.size,
                    }
                    for tx in t.transactions
                ],
                "fees": t.fees,
                "subsidy": t.reward - t.fees,
                "reward": t.reward,
                "merkle_branch": [hash_to_hex(h) for h in t.merkle_branch],
            }
        )

    async def submit(request: web.Request) -> web.Response:
        data = await request.json()
        try:
            result = chain.submit(bytes.fromhex(data["block"]))
        except BlockRejected as exc:
            return error(400, exc.code, exc.message)
        return web.json_response(
            {"hash": result.hash, "height": result.height, "status": result.status}
        )

    async def block(request: web.Request) -> web.Response:
        info = chain.info(hex_to_hash(request.match_info["hash"]))
        if info is None:
            return error(404, "block_not_found", "no block with this hash")
        return web.json_response(
            {
                "id": info.hash,
                "height": info.height,
                "previousblockhash": info.previous_hash,
                "in_best_chain": info.in_best_chain,
            }
        )

    async def block_height(request: web.Request) -> web.Response:
        found = chain.hash_at(int(request.match_info["height"]))
        if found is None:
            return error(404, "block_not_found", "no block at this height")
        return web.Response(text=hash_to_hex(found))

    app = web.Application()
    app.add_routes(
        [
            web.get("/v1/chain", chain_info),
            web.get("/v1/blocks/tip/hash", tip_hash),
            web.get("/v1/mining/template", template),
            web.post("/v1/mining/submit", submit),
            web.get("/v1/block/{hash}", block),
            web.get("/v1/block-height/{height}", block_height),
        ]
    )
    return app


@contextlib.asynccontextmanager
async def serve_fake_node(chain: FakeChain) -> AsyncIterator[str]:
    runner = web.AppRunner(fake_node_app(chain), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


# --- a pool in-process ------------------------------------------------------------------------
def pool_config(datadir: Path, **overrides: Any) -> PoolConfig:
    """A regtest pool on 127.0.0.1 (any ports), fast polling, fixed share difficulty."""
    difficulty = overrides.pop("difficulty", 2.0**-24)
    vardiff = overrides.pop(
        "vardiff",
        VardiffConfig(initial_difficulty=difficulty, min_difficulty=2.0**-32, enabled=False),
    )
    # tests submit shares far faster than vardiff would let a real miner: no rate limit
    unlimited = replace(StratumSettings(), vardiff=vardiff, message_rate=1e6, message_burst=1e6)
    stratum = overrides.pop("stratum", unlimited)
    base: dict[str, Any] = dict(
        params=REGTEST,
        node_url="fake://node",
        operator=OPERATOR.address(),
        datadir=datadir,
        stratum_bind=("127.0.0.1", 0),
        api_bind=("127.0.0.1", 0),
        template_interval=0.5,
        tip_poll_interval=0.05,
        stratum=stratum,
    )
    base.update(overrides)
    return PoolConfig(**base)


@contextlib.asynccontextmanager
async def running_pool(config: PoolConfig, node: Any) -> AsyncIterator[Pool]:
    pool = Pool(config, node)
    task = asyncio.create_task(pool.run())
    try:
        async with asyncio.timeout(20):
            started = asyncio.create_task(pool.started.wait())
            await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            if task.done():
                task.result()
        yield pool
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# --- a scripted Stratum client, as cpuminer does it -------------------------------------------
def le32dec(b: bytes) -> int:
    return int(struct.unpack("<I", b)[0])


def be32dec(b: bytes) -> int:
    return int(struct.unpack(">I", b)[0])


def be32enc(w: int) -> bytes:
    return struct.pack(">I", w)


def le32enc(w: int) -> bytes:
    return struct.pack("<I", w)


def diff_to_target(diff: float) -> int:
    """cpuminer's diff_to_target (sha256d): 0xFFFF0000 / diff in the 7th and 8th words."""
    k = 6
    while k > 0 and diff > 1.0:
        diff /= 4294967296.0
        k -= 1
    m = int(4294901760.0 / diff)
    if m == 0 and k == 6:
        return (1 << 256) - 1
    return min(m << (32 * k), (1 << 256) - 1)


@dataclass
class NotifyJob:
    job_id: str
    prevhash: str
    coinb1: str
    coinb2: str
    branch: list[str]
    version: str
    nbits: str
    ntime: str
    clean: bool
    difficulty: float


@dataclass
class BuiltHeader:
    header: bytes
    hash: bytes
    coinbase: bytes
    nonce_hex: str
    extranonce2_hex: str

    @property
    def value(self) -> int:
        return int.from_bytes(self.hash, "little")


@dataclass
class ScriptedMiner:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    extranonce1: bytes = b""
    extranonce2_size: int = 0
    difficulty: float = 1.0
    jobs: list[NotifyJob] = field(default_factory=list)
    difficulties: list[float] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _responses: dict[int, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> ScriptedMiner:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def _read_one(self, deadline: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(deadline):
            line = await self.reader.readline()
        if not line:
            raise ConnectionError("closed by the pool")
        message: dict[str, Any] = json.loads(line)
        if message.get("method") == "mining.notify":
            p = message["params"]
            # job_id, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean
            job: tuple[str, str, str, str, list[str], str, str, str, bool] = tuple(p[:9])
            self.jobs.append(NotifyJob(*job, difficulty=self.difficulty))
        elif message.get("method") == "mining.set_difficulty":
            self.difficulty = float(message["params"][0])
            self.difficulties.append(self.difficulty)
        elif message.get("id") is not None:
            self._responses[message["id"]] = message
        return message

    async def call(self, method: str, params: list[Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        self.writer.write(
            (json.dumps({"id": request_id, "method": method, "params": params}) + "\n").encode()
        )
        while request_id not in self._responses:
            await self._read_one()
        return self._responses.pop(request_id)

    async def next_job(self, after: int = 0, deadline: float = 10.0) -> NotifyJob:
        """The first job received after ``after`` jobs."""
        async with asyncio.timeout(deadline):
            while len(self.jobs) <= after:
                await self._read_one()
        return self.jobs[after]

    async def subscribe(self) -> dict[str, Any]:
        reply = await self.call("mining.subscribe", ["scripted/1.0"])
        result = reply["result"]
        self.extranonce1 = bytes.fromhex(result[1])
        self.extranonce2_size = int(result[2])
        return reply

    async def authorize(self, user: str) -> dict[str, Any]:
        return await self.call("mining.authorize", [user, "x"])

    def build(
        self,
        job: NotifyJob,
        extranonce2: bytes,
        nonce_word: int,
        *,
        ntime: str | None = None,
        version: int | None = None,
    ) -> BuiltHeader:
        """cpuminer's stratum_gen_work + the header as its sha256 sees it (big-endian words)."""
        coinbase = (
            bytes.fromhex(job.coinb1) + self.extranonce1 + extranonce2 + bytes.fromhex(job.coinb2)
        )
        merkle = sha256d(coinbase)
        for h in job.branch:
            merkle = sha256d(merkle + bytes.fromhex(h))
        prev = bytes.fromhex(job.prevhash)
        data = [0] * 20
        version_bytes = bytes.fromhex(job.version) if version is None else be32enc(version)
        data[0] = le32dec(version_bytes)  # as if the notify had said this version
        for i in range(8):
            data[1 + i] = le32dec(prev[4 * i : 4 * i + 4])
        for i in range(8):
            data[9 + i] = be32dec(merkle[4 * i : 4 * i + 4])
        data[17] = le32dec(bytes.fromhex(ntime or job.ntime))
        data[18] = le32dec(bytes.fromhex(job.nbits))
        data[19] = nonce_word
        header = b"".join(be32enc(w) for w in data)
        return BuiltHeader(
            header, sha256d(header), coinbase, le32enc(nonce_word).hex(), extranonce2.hex()
        )

    def find(
        self,
        job: NotifyJob,
        extranonce2: bytes,
        *,
        meets: bool = True,
        target: int | None = None,
        start: int = 0,
        **kwargs: Any,
    ) -> BuiltHeader:
        """The first nonce from ``start`` whose header meets (or, ``meets=False``, misses)
        the job's share target."""
        limit = diff_to_target(job.difficulty) if target is None else target
        for nonce in range(start, start + 10_000_000):
            built = self.build(job, extranonce2, nonce, **kwargs)
            if (built.value <= limit) == meets:
                return built
        raise AssertionError("no nonce found")

    async def submit(
        self,
        user: str,
        job: NotifyJob,
        built: BuiltHeader,
        ntime: str | None = None,
        version_bits: str | None = None,
    ) -> dict[str, Any]:
        params = [user, job.job_id, built.extranonce2_hex, ntime or job.ntime, built.nonce_hex]
        if version_bits is not None:
            params.append(version_bits)
        return await self.call("mining.submit", params)
