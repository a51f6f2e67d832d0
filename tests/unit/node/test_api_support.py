"""Helpers shared by the REST API tests: a real regtest node with its API, started in-process on
the test's event loop, and a small client. (Named test_* so it sits with them; it holds no
tests itself.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from consensus.hashing import hex_to_hash
from consensus.params import REGTEST
from consensus.transaction import OutPoint, Transaction, TxOut
from node.api import ApiServer, ApiSettings
from node.config import HostPort, NodeConfig
from node.server import Node
from tests.framework.factory import Key, spend

ALICE = Key.from_index(1)
BOB = Key.from_index(2)
CAROL = Key.from_index(3)
COIN = 100_000_000
# Loopback is rate limited by default; the tests that are not about the limit lift it.
UNLIMITED = ApiSettings(rate_limit=0)


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        import json

        return json.loads(self.body)

    @property
    def error_code(self) -> str:
        data = self.json()
        assert set(data) == {"error"}, data
        assert set(data["error"]) == {"code", "message"}, data
        return str(data["error"]["code"])


@dataclass
class LiveApi:
    node: Node
    server: ApiServer
    session: aiohttp.ClientSession
    datadir: Path

    @property
    def token(self) -> str:
        return (self.datadir / "api.cookie").read_text()

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        async with self.session.request(method, self.server.url + path, **kwargs) as response:
            return Reply(response.status, response.headers, await response.read())

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def get_json(self, path: str) -> Any:
        reply = await self.get(path)
        assert reply.status == 200, (path, reply.status, reply.text)
        return reply.json()

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("POST", path, **kwargs)

    async def generate(self, blocks: int, key: Key = ALICE) -> list[str]:
        reply = await self.post(
            "/v1/mining/generate",
            json={"blocks": blocks, "address": key.address()},
            headers=self.admin,
        )
        assert reply.status == 200, reply.text
        hashes: list[str] = reply.json()
        return hashes

    async def post_tx(self, tx: Transaction) -> Reply:
        return await self.post("/v1/tx", data=tx.encoded.hex())

    async def coinbase_at(self, height: int) -> tuple[OutPoint, TxOut]:
        block_hash = (await self.get("/v1/block-height/" + str(height))).text
        txids = await self.get_json(f"/v1/block/{block_hash}/txids")
        tx = await self.get_json(f"/v1/tx/{txids[0]}")
        out = tx["vout"][0]
        return OutPoint(hex_to_hash(txids[0]), 0), TxOut(
            out["value"], bytes.fromhex(out["scriptpubkey"])
        )

    async def height(self) -> int:
        return int((await self.get("/v1/blocks/tip/height")).text)


def pay(
    coin: tuple[OutPoint, TxOut], key: Key, to: Key, amount: int, fee: int = 1000
) -> Transaction:
    """Spend ``coin`` (owned by ``key``): ``amount`` to ``to``, the change back to ``key``."""
    outpoint, out = coin
    outputs = [TxOut(amount, to.lock)]
    change = out.value - amount - fee
    if change > 0:
        outputs.append(TxOut(change, key.lock))
    return spend([(outpoint, out, key)], outputs, REGTEST)


def settings_extra(settings: ApiSettings) -> dict[str, str]:
    """``NodeConfig.extra`` carrying the rate-limit settings and the request deadline, for a node
    that starts its own API (``ApiSettings.from_config``)."""
    return {
        "api_rate_limit": str(settings.rate_limit),
        "api_rate_burst": str(settings.rate_burst),
        "api_rate_limit_loopback": str(settings.rate_limit_loopback).lower(),
        "api_request_timeout": str(settings.request_timeout),
    }


@contextlib.asynccontextmanager
async def live_api(
    datadir: Path,
    settings: ApiSettings | None = UNLIMITED,
    *,
    listen: bool = False,
    verify_threads: int = 0,
    block_notify: str | None = None,
    **overrides: Any,
) -> AsyncIterator[LiveApi]:
    """A regtest node (no miner; P2P listening on 127.0.0.1:<any port> only with ``listen``;
    ``verify_threads`` as ``--verify-threads``) with its API on 127.0.0.1:<any port>: the
    node's own (``node.api``) once Node.run starts one, else an ``ApiServer`` started here on
    the running node. ``overrides`` are further ``NodeConfig`` fields."""
    settings = settings or ApiSettings()
    config = NodeConfig(
        params=REGTEST,
        datadir=datadir,
        p2p_bind=HostPort("127.0.0.1", 0),
        api_bind=HostPort("127.0.0.1", 0),
        listen=listen,
        verify_threads=verify_threads,
        block_notify=block_notify,
        extra=settings_extra(settings),
        **overrides,
    )
    node = Node(config)
    task = asyncio.create_task(node.run())
    try:
        async with asyncio.timeout(30):
            started = asyncio.create_task(node.started.wait())
            await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            if task.done():
                task.result()  # raises the node's start-up error
        own: ApiServer | None = getattr(node, "api", None)
        async with contextlib.AsyncExitStack() as stack:
            if own is not None:
                server = own
            else:
                server = await stack.enter_async_context(ApiServer(node, settings))
            session = await stack.enter_async_context(aiohttp.ClientSession())
            yield LiveApi(node, server, session, datadir)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
