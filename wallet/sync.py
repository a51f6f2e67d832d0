"""Address discovery: which of our addresses the chain knows, and every transaction touching them.

May import the standard library, ``consensus`` and ``wallet`` modules; reaches the node only
through a :class:`NodeApi` (``wallet.client.NodeClient``, or a fake in tests).

Ed25519 keys have no public derivation, so discovery derives private keys from the seed and
asks the node for each address's history (``GET /v1/address/{a}/txs``, every page). On each
chain (receive ``0'`` and change ``1'``) it scans from index 0 until ``gap_limit`` (20)
consecutive addresses after the last used one have no history, and at least up to the next
index the wallet would hand out (an address given to a payer is always watched, however far),
but never past the keys a watch-only wallet was given (``KeySource.available``).
Addresses are fetched concurrently, a batch at a time.

A snapshot must be consistent: the tip is read before and after the scan, and the scan runs
again (up to ``MAX_SCAN_ATTEMPTS`` times) if a block arrived in between.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from wallet.errors import NodeError
from wallet.history import ChainTx
from wallet.keys import CHANGE, RECEIVE, KeyId, KeySource
from wallet.metadata import DEFAULT_GAP_LIMIT

T = TypeVar("T")
GAP_LIMIT = DEFAULT_GAP_LIMIT  # the default; a wallet's own is in its wallet.json
MAX_SCAN_ATTEMPTS = 3
MAX_ADDRESSES = 100_000  # per chain: a sanity bound, far beyond any real wallet
MAX_TIP_AGE = 8 * 60 * 60  # Core's MAX_ANTI_FEE_SNIPING_TIP_AGE


class NodeApi(Protocol):
    """What discovery and the engine need from a node (``wallet.client.NodeClient``)."""

    url: str

    async def chain(self) -> dict[str, Any]: ...

    async def tip_hash(self) -> str: ...

    async def address_history(self, address: str) -> list[Any]: ...

    async def broadcast(self, raw: bytes) -> str: ...

    async def test_transaction(self, raw: bytes) -> dict[str, Any]: ...

    async def fee_estimates(self) -> dict[int, float]: ...


@dataclass
class ScanResult:
    """A consistent snapshot of what the node knows about our addresses."""

    network: str
    tip_height: int
    tip_hash: str
    txs: list[ChainTx]
    owned: dict[bytes, KeyId]  # every scanned address's lock -> its key
    last_used: dict[int, int] = field(default_factory=dict)  # chain -> index, -1 if none
    scanned: dict[int, int] = field(default_factory=dict)  # chain -> addresses scanned
    current: bool = True  # the node is not catching up and its tip is recent (anti_fee_sniping)

    def next_unused(self, chain: int) -> int:
        return self.last_used.get(chain, -1) + 1


async def scan(
    node: NodeApi,
    keychain: KeySource,
    hrp: str,
    *,
    next_receive: int = 0,
    next_change: int = 0,
    gap_limit: int = GAP_LIMIT,
) -> ScanResult:
    """Discover our used addresses and their transactions (module docstring)."""
    if gap_limit < 1:
        raise ValueError("gap limit must be at least 1")
    for _attempt in range(MAX_SCAN_ATTEMPTS):
        chain = await node.chain()
        before = chain["tip"]
        receive, change = await gather(
            _scan_chain(node, keychain, RECEIVE, hrp, next_receive, gap_limit),
            _scan_chain(node, keychain, CHANGE, hrp, next_change, gap_limit),
        )
        after = await node.tip_hash()
        if after == before:
            break
    else:
        raise NodeError(
            f"the chain at {node.url} kept moving during {MAX_SCAN_ATTEMPTS} scans; try again"
        )
    owned = {**receive.owned, **change.owned}
    return ScanResult(
        network=str(chain["network"]),
        tip_height=int(chain["height"]),
        tip_hash=before,
        txs=[*receive.txs, *change.txs],
        owned=owned,
        last_used={RECEIVE: receive.last_used, CHANGE: change.last_used},
        scanned={RECEIVE: receive.scanned, CHANGE: change.scanned},
        current=is_current(chain, time.time()),
    )


def is_current(chain: dict[str, Any], now: float) -> bool:
    """Whether the node's ``/v1/chain`` shows it caught up, with a tip whose median time is
    less than :data:`MAX_TIP_AGE` old (Core's ``IsCurrentForAntiFeeSniping``, which looks at
    the tip's own time). A node that does not say counts as current."""
    if chain.get("initial_block_download") is True:
        return False
    median_time = chain.get("median_time")
    return type(median_time) is not int or now - median_time < MAX_TIP_AGE


@dataclass
class _ChainScan:
    txs: list[ChainTx]
    owned: dict[bytes, KeyId]
    last_used: int
    scanned: int


async def _scan_chain(
    node: NodeApi, keychain: KeySource, change: int, hrp: str, handed_out: int, gap_limit: int
) -> _ChainScan:
    txs: list[ChainTx] = []
    owned: dict[bytes, KeyId] = {}
    last_used = -1
    index = 0
    while True:
        wanted = max(handed_out, last_used + 1 + gap_limit)
        if wanted > MAX_ADDRESSES:
            raise NodeError(f"more than {MAX_ADDRESSES} addresses in use on chain {change}")
        end = min(wanted, keychain.available(change))  # a watch-only wallet's keys end
        if index >= end:
            break
        batch = range(index, end)
        keys = [keychain.key(change, i) for i in batch]
        histories = await _fetch_all(node, [key.address(hrp) for key in keys])
        for key, history in zip(keys, histories, strict=True):
            owned[key.lock] = key.key_id
            if history:
                last_used = max(last_used, key.key_id.index)
                txs.extend(ChainTx.from_json(item) for item in history)
        index = end
    return _ChainScan(txs, owned, last_used, index)


async def _fetch_all(node: NodeApi, addresses: Sequence[str]) -> list[list[Any]]:
    """Every address's history, fetched concurrently; the first error cancels the rest."""
    return await gather(*(node.address_history(a) for a in addresses))


async def gather(*awaitables: Coroutine[Any, Any, T]) -> list[T]:
    """Run ``awaitables`` concurrently; the first error cancels the others and is raised as
    itself (not wrapped in an ``ExceptionGroup``, so callers catch ``WalletError``)."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(a) for a in awaitables]
    except BaseExceptionGroup as errors:
        raise _first_error(errors) from None
    return [task.result() for task in tasks]


def _first_error(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
