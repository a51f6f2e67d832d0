"""Everything the pool asks of a node, behind one small protocol, and its REST implementation.

May import aiohttp, consensus and the standard library. The pool reaches a node only through a
:class:`NodeClient`; :class:`HttpNodeClient` speaks the node's REST API (docs/api.md):

* ``GET /v1/chain`` (network check), ``GET /v1/blocks/tip/hash`` (cheap tip polling),
* ``GET /v1/mining/template`` (:func:`template_from_json`), long-polled with ``?longpollid=``
  (BIP 22: the node answers when its tip changes, or after 20 s),
* ``POST /v1/mining/submit`` ``{"block": hex}`` -> ``{hash, height, status}``, a 4xx
  ``{"error": {code, message}}`` is a :class:`~pool.errors.BlockRejected`,
* ``GET /v1/block/{hash}`` (height, parent, ``in_best_chain``), ``GET /v1/block-height/{h}``.

Faults (unreachable, timeouts, 5xx, 429, malformed answers) raise :class:`~pool.errors.NodeError`.
Tests use an in-process fake implementing the same protocol with real consensus objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp

from consensus.errors import ConsensusError
from consensus.hashing import ZERO_HASH, hash_to_hex, hex_to_hash
from consensus.merkle import stratum_branch
from consensus.transaction import Transaction
from pool.errors import BlockRejected, NodeError

LONGPOLL_TIMEOUT = 40.0  # seconds for a long-polled template (the node answers within 20)
MAX_LONGPOLLID = 100

__all__ = [
    "BlockInfo",
    "ChainInfo",
    "HttpNodeClient",
    "NodeClient",
    "SubmitResult",
    "Template",
    "template_from_json",
]


@dataclass(frozen=True)
class Template:
    """A block template: the header fields, the transactions after the coinbase, the reward."""

    height: int
    previous_hash: bytes  # internal byte order
    version: int
    bits: int
    target: int
    time: int
    min_time: int
    transactions: tuple[Transaction, ...]
    fees: int
    reward: int  # subsidy + fees: what the coinbase may pay
    merkle_branch: tuple[bytes, ...]  # Stratum's branch of the coinbase, internal order
    longpollid: str | None = None  # to long-poll the next template (None: the node has none)

    @property
    def previous_hash_hex(self) -> str:
        return hash_to_hex(self.previous_hash)

    @property
    def content_key(self) -> tuple[object, ...]:
        """What a job depends on besides the payout (a change calls for a new job)."""
        return (
            self.previous_hash,
            self.version,
            self.bits,
            self.reward,
            tuple(tx.wtxid for tx in self.transactions),
        )


@dataclass(frozen=True)
class SubmitResult:
    hash: str
    height: int | None
    status: str  # connected | stored | orphan | duplicate


@dataclass(frozen=True)
class BlockInfo:
    hash: str
    height: int
    previous_hash: str | None
    in_best_chain: bool


@dataclass(frozen=True)
class ChainInfo:
    network: str
    height: int
    tip: str


class NodeClient(Protocol):
    async def chain(self) -> ChainInfo: ...

    async def tip_hash(self) -> str: ...

    async def template(self, longpollid: str | None = None) -> Template: ...

    async def submit_block(self, block: bytes) -> SubmitResult: ...

    async def block(self, block_hash: str) -> BlockInfo | None: ...

    async def block_hash_at(self, height: int) -> str | None: ...

    async def aclose(self) -> None: ...


def _field(data: Mapping[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise NodeError(f"template field {name!r} is missing or not a {kind.__name__}")
    return value


def template_from_json(data: Mapping[str, Any]) -> Template:
    """Parse and check ``GET /v1/mining/template``: every transaction must hash to the wtxid
    the node gives, and the merkle branch is recomputed here and compared with the node's."""
    try:
        transactions = []
        for index, item in enumerate(_field(data, "transactions", list)):
            tx = Transaction.decode(bytes.fromhex(_field(item, "data", str)))
            if "wtxid" in item and hash_to_hex(tx.wtxid) != item["wtxid"]:
                raise NodeError(f"template transaction {index} does not hash to its wtxid")
            transactions.append(tx)
        branch = tuple(stratum_branch([ZERO_HASH, *(tx.wtxid for tx in transactions)]))
        if "merkle_branch" in data:
            given = tuple(hex_to_hash(h) for h in _field(data, "merkle_branch", list))
            if given != branch:
                raise NodeError("the template's merkle branch does not match its transactions")
        target_text = _field(data, "target", str)
        return Template(
            height=_field(data, "height", int),
            previous_hash=hex_to_hash(_field(data, "previous_hash", str)),
            version=int(data.get("version", 1)),
            bits=_field(data, "bits", int),
            target=int(target_text, 16),
            time=_field(data, "time", int),
            min_time=_field(data, "min_time", int),
            transactions=tuple(transactions),
            fees=_field(data, "fees", int),
            reward=_field(data, "reward", int),
            merkle_branch=branch,
            longpollid=_longpollid(data),
        )
    except (ValueError, TypeError, AttributeError, ConsensusError) as exc:
        raise NodeError(f"malformed template: {exc}") from None


def _longpollid(data: Mapping[str, Any]) -> str | None:
    value = data.get("longpollid")
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_LONGPOLLID:
        raise ValueError("bad longpollid")
    return value


class HttpNodeClient:
    """:class:`NodeClient` over the node's REST API at ``base_url`` (``http://host:port``)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        not_found_ok: bool = False,
        seconds: float | None = None,
    ) -> tuple[int, Any]:
        """``seconds``: this request's time limit instead of the client's."""
        url = self.base_url + path
        limit = self.timeout if seconds is None else aiohttp.ClientTimeout(total=seconds)
        try:
            async with self._client().request(method, url, json=body, timeout=limit) as resp:
                if resp.status == 404 and not_found_ok:
                    return 404, None
                if resp.content_type == "application/json":
                    payload: Any = await resp.json()
                else:
                    payload = await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NodeError(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # bad JSON
            raise NodeError(f"{method} {path}: malformed answer: {exc}") from None
        if resp.status >= 500 or resp.status == 429:
            raise NodeError(f"{method} {path}: HTTP {resp.status}: {_message(payload)}")
        return resp.status, payload

    async def _get_ok(self, path: str, seconds: float | None = None) -> Any:
        status, payload = await self._request("GET", path, seconds=seconds)
        if status != 200:
            raise NodeError(f"GET {path}: HTTP {status}: {_message(payload)}")
        return payload

    async def chain(self) -> ChainInfo:
        data = await self._get_ok("/v1/chain")
        try:
            return ChainInfo(str(data["network"]), int(data["height"]), str(data["tip"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise NodeError(f"malformed /v1/chain answer: {exc}") from None

    async def tip_hash(self) -> str:
        text = await self._get_ok("/v1/blocks/tip/hash")
        if not isinstance(text, str) or len(text.strip()) != 64:
            raise NodeError("malformed tip hash")
        return text.strip()

    async def template(self, longpollid: str | None = None) -> Template:
        """The node's template; with ``longpollid`` (of an earlier one), the node answers once
        its tip has changed, or after its long-poll time (20 s)."""
        if longpollid is None:
            data = await self._get_ok("/v1/mining/template")
        else:
            query = urlencode({"longpollid": longpollid})
            data = await self._get_ok(f"/v1/mining/template?{query}", LONGPOLL_TIMEOUT)
        if not isinstance(data, dict):
            raise NodeError("malformed template")
        return template_from_json(data)

    async def submit_block(self, block: bytes) -> SubmitResult:
        status, payload = await self._request("POST", "/v1/mining/submit", {"block": block.hex()})
        if status != 200:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            raise BlockRejected(
                str(error.get("code", f"http_{status}")), str(error.get("message", payload))
            )
        try:
            height = payload.get("height")
            return SubmitResult(
                str(payload["hash"]),
                None if height is None else int(height),
                str(payload["status"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NodeError(f"malformed submit answer: {exc}") from None

    async def block(self, block_hash: str) -> BlockInfo | None:
        status, data = await self._request("GET", f"/v1/block/{block_hash}", not_found_ok=True)
        if status == 404:
            return None
        if status != 200:
            raise NodeError(f"GET /v1/block: HTTP {status}: {_message(data)}")
        try:
            return BlockInfo(
                str(data["id"]),
                int(data["height"]),
                data.get("previousblockhash"),
                bool(data["in_best_chain"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise NodeError(f"malformed block answer: {exc}") from None

    async def block_hash_at(self, height: int) -> str | None:
        status, text = await self._request("GET", f"/v1/block-height/{height}", not_found_ok=True)
        if status == 404:
            return None
        if status != 200 or not isinstance(text, str):
            raise NodeError(f"GET /v1/block-height/{height}: HTTP {status}")
        return text.strip()


def _message(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        error = payload["error"]
        return f"{error.get('code')}: {error.get('message')}"
    return str(payload)[:200]
