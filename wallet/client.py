"""The wallet's client of a node's REST API (``/v1``, docs/api.md).

May import the standard library, ``aiohttp``, ``consensus`` (params, hashing) and ``wallet``
(errors, parsing, clientfaults). The wallet reaches a node only through this module: the
import linter forbids ``node``.

- **Timeouts**: connecting (5 s by default) and a whole request (30 s by default). A refused
  connection or a timeout is :class:`NodeUnreachable` with a one-line message that names the
  URL.
- **Errors**: the API's ``{"error": {"code", "message"}}`` becomes :class:`NodeError` with
  the HTTP status and the API's code; anything that is not the API's shape (HTML from a proxy,
  a truncated body, a field of the wrong type) is :class:`NodeError` ``bad_response``.
- **Limits**: a response body over ``max_response_bytes`` (16 MiB) is refused while it is
  read, so a hostile or broken server cannot make the wallet allocate without bound.
- **Rate limits**: a 429 (and a 503 that carries ``Retry-After``) is retried after the
  server's ``Retry-After`` (capped), within a total budget of ``retry_budget`` seconds.
- At most ``max_connections`` requests run at once (address discovery issues many).
- **Fees**: a broadcast (and its dry run) allows the wallet's own fee-rate limit,
  ``wallet.parsing.MAX_FEE_RATE``, instead of the node's lower default ``maxfeerate``.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from consensus.params import ChainParams
from wallet.clientfaults import describe, one_line, retry_wait, strip_prefix
from wallet.errors import BroadcastRejected, InvalidInput, NodeError, NodeUnreachable
from wallet.parsing import MAX_FEE_RATE

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
RETRY_BUDGET = 15.0
HISTORY_PAGE = 100  # the API's max_page_size
FEE_CAP = f"?maxfeerate={MAX_FEE_RATE}"  # the wallet's own limit, above the node's default


def default_node_url(params: ChainParams) -> str:
    """``http://127.0.0.1:<the network's API port>``: where ``seedchain node`` listens."""
    return f"http://127.0.0.1:{params.api_port}"


def check_node_url(url: str) -> str:
    """``url`` without a trailing slash, or :class:`InvalidInput` unless it is http(s)://HOST."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise InvalidInput(f"invalid node URL {url!r}: bad port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"invalid node URL {url!r}: expected http://HOST:PORT")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInput(f"invalid node URL {url!r}: no query, fragment or credentials")
    del port
    return url.strip().rstrip("/")


class NodeClient:
    """An asynchronous client of one node. Use as ``async with NodeClient(url) as node``."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_connections: int = 8,
        retry_budget: float = RETRY_BUDGET,
        token: str | None = None,
    ) -> None:
        self.url = check_node_url(url)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_response_bytes = max_response_bytes
        self.max_connections = max_connections
        self.retry_budget = retry_budget
        self.token = token
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> NodeClient:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=self.timeout, sock_connect=self.connect_timeout
                ),
                connector=aiohttp.TCPConnector(limit=self.max_connections),
                headers={"User-Agent": "seedchain-wallet/0.1"},
                raise_for_status=False,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- transport ----------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: str | None = None,
        json_body: Any = None,
        admin: bool = False,
    ) -> tuple[int, bytes]:
        """``(status, body)`` of a 2xx answer; raises :class:`NodeError` for any other status,
        :class:`NodeUnreachable` when the node cannot be reached in time."""
        await self.open()
        assert self._session is not None
        headers = {}
        if admin and self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        if data is not None:
            headers["Content-Type"] = "text/plain"
        deadline = time.monotonic() + self.retry_budget
        while True:
            try:
                async with self._session.request(
                    method,
                    self.url + path,
                    params=params,
                    data=data,
                    json=json_body,
                    headers=headers,
                ) as response:
                    body = await self._read(response)
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
            except TimeoutError as exc:  # before ClientConnectionError: aiohttp's are both
                if isinstance(exc, aiohttp.ConnectionTimeoutError):
                    raise NodeUnreachable(
                        f"cannot reach the node at {self.url}: no connection within"
                        f" {self.connect_timeout:g} s"
                    ) from None
                raise NodeUnreachable(
                    f"the node at {self.url} did not answer within {self.timeout:g} s"
                ) from None
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError) as exc:
                raise NodeUnreachable(
                    f"cannot reach the node at {self.url}: {describe(exc)}"
                ) from None
            if 200 <= status < 300:
                return status, body
            wait = retry_wait(status, retry_after)
            if wait is not None and time.monotonic() + wait <= deadline:
                await asyncio.sleep(wait)
                continue
            raise self._error(status, body, path)

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self.max_response_bytes
        if response.content_length is not None and response.content_length > limit:
            raise NodeError(
                f"the node at {self.url} sent a response over {limit} bytes",
                status=response.status,
            )
        chunks = []
        size = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise NodeError(
                    f"the node at {self.url} sent a response over {limit} bytes",
                    status=response.status,
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _error(self, status: int, body: bytes, path: str) -> NodeError:
        code, message = "http_error", f"HTTP {status}"
        try:
            document = json.loads(body)
            error = document["error"]
            if isinstance(error["code"], str) and isinstance(error["message"], str):
                code, message = error["code"], error["message"]
        except (ValueError, KeyError, TypeError):
            pass
        where = path.split("?", maxsplit=1)[0]
        return NodeError(
            f"the node refused {where}: {one_line(message)} ({code})",
            status=status,
            api_code=code,
        )

    async def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        _status, body = await self.request("GET", path, params=params)
        return self._decode(body, path)

    async def get_text(self, path: str) -> str:
        _status, body = await self.request("GET", path)
        try:
            return body.decode("ascii").strip()
        except UnicodeDecodeError:
            raise NodeError(f"the node sent a malformed answer to {path}") from None

    def _decode(self, body: bytes, path: str) -> Any:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            where = path.split("?", maxsplit=1)[0]
            raise NodeError(
                f"the node at {self.url} sent a malformed answer to {where}"
                " (is this a Seedchain node?)"
            ) from None

    # --- endpoints ----------------------------------------------------------------------------
    async def chain(self) -> dict[str, Any]:
        """``GET /v1/chain``: network, height, tip, ..."""
        data = await self.get_json("/v1/chain")
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("network"), str)
            or type(data.get("height")) is not int
            or not isinstance(data.get("tip"), str)
        ):
            raise NodeError(
                f"the node at {self.url} sent a malformed /v1/chain (is this a Seedchain node?)"
            )
        return data

    async def tip_hash(self) -> str:
        return await self.get_text("/v1/blocks/tip/hash")

    async def tip_height(self) -> int:
        text = await self.get_text("/v1/blocks/tip/height")
        if not text.isdigit():
            raise NodeError("the node sent a malformed tip height")
        return int(text)

    async def address_txs_page(
        self, address: str, cursor: str | None = None, limit: int = HISTORY_PAGE
    ) -> tuple[list[Any], str | None]:
        params = {"limit": str(limit)}
        if cursor is not None:
            params["cursor"] = cursor
        path = f"/v1/address/{quote(address, safe='')}/txs"
        data = await self.get_json(path, params)
        if not isinstance(data, dict) or not isinstance(data.get("txs"), list):
            raise NodeError(f"the node sent a malformed history for {address}")
        next_cursor = data.get("next_cursor")
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise NodeError(f"the node sent a malformed history cursor for {address}")
        return data["txs"], next_cursor

    async def address_history(self, address: str, *, max_pages: int = 10_000) -> list[Any]:
        """Every transaction of ``address``: mempool first, then confirmed, newest first."""
        txs: list[Any] = []
        cursor: str | None = None
        for _ in range(max_pages):
            page, cursor = await self.address_txs_page(address, cursor)
            txs.extend(page)
            if cursor is None:
                return txs
        raise NodeError(f"the history of {address} has more than {max_pages} pages")

    async def address_utxo(self, address: str) -> list[Any]:
        data = await self.get_json(f"/v1/address/{quote(address, safe='')}/utxo")
        if not isinstance(data, list):
            raise NodeError(f"the node sent a malformed UTXO list for {address}")
        return data

    async def tx(self, txid_hex: str) -> dict[str, Any]:
        data = await self.get_json(f"/v1/tx/{quote(txid_hex, safe='')}")
        if not isinstance(data, dict):
            raise NodeError(f"the node sent a malformed transaction {txid_hex}")
        return data

    async def broadcast(self, raw: bytes) -> str:
        """``POST /v1/tx``; the txid. A refusal is :class:`BroadcastRejected`."""
        try:
            _status, body = await self.request("POST", "/v1/tx" + FEE_CAP, data=raw.hex())
        except NodeError as exc:
            if exc.api_code == "bad_response" or exc.status >= 500:
                raise
            raise BroadcastRejected(
                f"the node refused the transaction: {strip_prefix(str(exc))}",
                status=exc.status,
                api_code=exc.api_code,
            ) from None
        return body.decode("ascii", "replace").strip()

    async def test_transaction(self, raw: bytes) -> dict[str, Any]:
        """``POST /v1/tx/test``: whether the node would accept the transaction now, with
        ``allowed`` and the fee figures or the ``reject_reason``; nothing is sent."""
        _status, body = await self.request("POST", "/v1/tx/test" + FEE_CAP, data=raw.hex())
        try:
            verdict = json.loads(body)
        except ValueError:
            verdict = None
        if not isinstance(verdict, dict) or not isinstance(verdict.get("allowed"), bool):
            raise NodeError("the node sent a malformed verdict")
        return verdict

    async def fee_estimates(self) -> dict[int, float]:
        """``GET /v1/fee-estimates``: units per byte by confirmation target (in blocks)."""
        data = await self.get_json("/v1/fee-estimates")
        if not isinstance(data, dict):
            raise NodeError("the node sent malformed fee estimates")
        result: dict[int, float] = {}
        for key, value in data.items():
            if (
                not isinstance(key, str)
                or not key.isdigit()
                or isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise NodeError("the node sent malformed fee estimates")
            result[int(key)] = float(value)
        return result

    async def mining_template(self, address: str, longpollid: str | None = None) -> dict[str, Any]:
        """The node's template paying ``address``; with ``longpollid`` (of an earlier one), the
        node answers once its tip has changed, or after 20 s (BIP 22 long polling)."""
        params = {"address": address}
        if longpollid is not None:
            params["longpollid"] = longpollid
        data = await self.get_json("/v1/mining/template", params)
        if not isinstance(data, dict):
            raise NodeError("the node sent a malformed block template")
        return data

    async def submit_block(self, raw: bytes) -> dict[str, Any]:
        _status, body = await self.request(
            "POST", "/v1/mining/submit", json_body={"block": raw.hex()}
        )
        data = self._decode(body, "/v1/mining/submit")
        if not isinstance(data, dict):
            raise NodeError("the node sent a malformed answer to /v1/mining/submit")
        return data

    async def generate(self, blocks: int, address: str) -> list[str]:
        """Admin, regtest only: mine ``blocks`` now to ``address`` (needs ``token``)."""
        _status, body = await self.request(
            "POST",
            "/v1/mining/generate",
            json_body={"blocks": blocks, "address": address},
            admin=True,
        )
        data = self._decode(body, "/v1/mining/generate")
        if not isinstance(data, list) or not all(isinstance(h, str) for h in data):
            raise NodeError("the node sent a malformed answer to /v1/mining/generate")
        return data
