"""``seedchain mine``: solo mining through a node's REST API.

    seedchain mine --node URL --to ADDRESS [--blocks N] [--threads N] [--json]

Asks ``GET /v1/mining/template?address=ADDRESS`` for a block paying the whole reward to
ADDRESS, searches the header's nonce (and, when the nonces run out, later times) with the
multi-core ``mining.Miner``, and posts a solution to ``POST /v1/mining/submit``. The template is
abandoned as soon as the node's tip changes (the template is long-polled, BIP 22; from a node
without long polling, ``GET /v1/blocks/tip/hash`` every ``--poll`` seconds) and refreshed every
``--refresh`` seconds so that new transactions get in. Each block
found is printed (one JSON object per line with ``--json``). Stops after ``--blocks N`` blocks
the node connected, or on SIGINT/SIGTERM (exit 0). A node that cannot be reached at the start
is an error; later, while it restarts or catches up (503), the miner warns and retries.

Options fall back to ``SEEDCHAIN_NODE``, ``SEEDCHAIN_NETWORK``, ``SEEDCHAIN_MINE_TO``,
``SEEDCHAIN_MINE_BLOCKS``, ``SEEDCHAIN_MINE_THREADS``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seedchain.cli import CommandError
from seedchain.runner import env, run_service

if TYPE_CHECKING:
    from mining.miner import Miner
    from wallet.client import NodeClient

NETWORKS = ("main", "test", "regtest")
RETRY_SECONDS = 2.0
TRANSIENT_STATUSES = frozenset({0, 429, 502, 503, 504})
"""Node answers worth waiting out (0: a malformed answer, e.g. from a restarting proxy)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "mine",
        help="solo mining against a node's block template",
        description="Solo mining through a node's /v1/mining/template and /v1/mining/submit.",
    )
    p.add_argument(
        "--node", default=env("NODE"), help="the node's REST API (default http://127.0.0.1:<api>)"
    )
    p.add_argument(
        "--network",
        default=env("NETWORK", "main"),
        choices=NETWORKS,
        help="picks the default --node port; the node's own network is used for --to",
    )
    p.add_argument("--to", default=env("MINE_TO"), metavar="ADDRESS", help="pay the reward here")
    p.add_argument(
        "--blocks",
        type=int,
        default=env("MINE_BLOCKS"),
        help="stop after N blocks connected (default: run until interrupted)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=env("MINE_THREADS", str(os.cpu_count() or 1)),
        help="worker threads (default: every CPU)",
    )
    p.add_argument(
        "--poll", type=float, default=1.0, help="seconds between checks of the node's tip"
    )
    p.add_argument(
        "--refresh",
        type=float,
        default=30.0,
        help="seconds before a template is refreshed to pick up new transactions",
    )
    p.add_argument("--backend", default=None, help="proof-of-work backend: native, hashlib, ...")
    p.add_argument("--json", action="store_true", help="one JSON object per block found")
    p.set_defaults(handler=run)


@dataclass(frozen=True)
class Template:
    height: int
    previous_hash: str
    block: bytes
    target: int
    time: int
    max_time: int
    transactions: int
    reward: int
    address: str = ""  # the payout address it was asked for
    longpollid: str | None = None  # BIP 22 long polling (None: the node has none)

    @classmethod
    def from_json(cls, data: dict[str, Any], address: str = "") -> Template:
        from wallet.errors import NodeError

        try:
            longpollid = data.get("longpollid")
            if longpollid is not None and not isinstance(longpollid, str):
                raise ValueError("bad longpollid")
            block = bytes.fromhex(data["block"])
            if len(block) <= 80:
                raise ValueError("short block")
            return cls(
                height=int(data["height"]),
                previous_hash=str(data["previous_hash"]),
                block=block,
                target=int(data["target"], 16),
                time=int(data["time"]),
                max_time=int(data["max_time"]),
                transactions=len(data["transactions"]) + 1,
                reward=int(data["reward"]),
                address=address,
                longpollid=longpollid,
            )
        except (KeyError, TypeError, ValueError):
            raise NodeError("the node sent a malformed block template") from None


def run(args: argparse.Namespace) -> int:
    from consensus.params import network
    from wallet.client import check_node_url, default_node_url
    from wallet.errors import WalletError

    if not args.to:
        raise CommandError("--to ADDRESS is required (or SEEDCHAIN_MINE_TO)")
    if args.blocks is not None and args.blocks < 1:
        raise CommandError("--blocks must be at least 1")
    if not 1 <= args.threads <= 1024:
        raise CommandError("--threads must be between 1 and 1024")
    if args.poll <= 0 or args.refresh <= 0:
        raise CommandError("--poll and --refresh must be positive")
    try:
        url = check_node_url(args.node) if args.node else default_node_url(network(args.network))
    except WalletError as exc:
        raise CommandError(str(exc)) from None

    async def main() -> None:
        try:
            await mine(args, url)
        except WalletError as exc:
            raise CommandError(str(exc)) from None

    return run_service(main)


async def mine(args: argparse.Namespace, url: str) -> None:
    from consensus.addresses import decode_address
    from consensus.errors import AddressError
    from consensus.nonce_search import PowBackendError
    from consensus.params import network
    from mining.miner import Miner
    from wallet.client import NodeClient
    from wallet.errors import NodeError, NodeUnreachable

    async with NodeClient(url) as node:
        chain = await node.chain()  # an unreachable node at the start is an error
        try:
            params = network(str(chain["network"]))
        except ValueError:
            raise CommandError(f"the node at {url} is on an unknown network") from None
        try:
            decode_address(args.to.strip(), params.hrp)
        except AddressError as exc:
            raise CommandError(f"invalid --to address: {exc}") from None
        try:
            miner = Miner(threads=args.threads, backend=args.backend)
        except (PowBackendError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        async with miner:
            connected = 0
            while args.blocks is None or connected < args.blocks:
                try:
                    to = args.to.strip()
                    template = Template.from_json(await node.mining_template(to), to)
                    block = await _solve(miner, node, template, args.poll, args.refresh)
                    if block is None:
                        continue
                    if await _submit(node, template, block, args.json):
                        connected += 1
                except (NodeUnreachable, NodeError) as exc:
                    if isinstance(exc, NodeError) and exc.status not in TRANSIENT_STATUSES:
                        raise
                    # the node restarts or catches up: keep trying, it is a long-lived service
                    print(f"warning: {exc}; retrying in {RETRY_SECONDS:g} s", file=sys.stderr)
                    await asyncio.sleep(RETRY_SECONDS)


async def _solve(
    miner: Miner, node: NodeClient, template: Template, poll: float, refresh: float
) -> bytes | None:
    """The solved block, or None when the tip moved or the template is due for a refresh."""
    from mining.work import Work

    header76 = template.block[:76]
    max_roll = max(0, min(template.max_time - template.time, 3600) // 2)
    work = Work.rolling_time(header76, max_roll) if max_roll else Work(header76)
    solve = asyncio.ensure_future(miner.solve(work, template.target))
    watch = asyncio.ensure_future(_tip_moved(node, template, poll, refresh))
    try:
        await asyncio.wait({solve, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (solve, watch):
            task.cancel()
        await asyncio.gather(solve, watch, return_exceptions=True)
    if watch.done() and not watch.cancelled() and watch.exception() is not None:
        raise watch.exception()  # type: ignore[misc]
    if solve.cancelled() or solve.exception() is not None or solve.result() is None:
        return None
    solution = solve.result()
    assert solution is not None
    return solution.header + template.block[80:]


async def _tip_moved(node: NodeClient, template: Template, poll: float, refresh: float) -> None:
    """Return when the node's tip is no longer the template's parent, or ``refresh`` has passed.
    Long-polled (BIP 22) when the node gives a ``longpollid``: the node answers as soon as its
    tip moves. Otherwise the tip is asked for every ``poll`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + refresh
    longpollid = template.longpollid
    while loop.time() < deadline:
        if longpollid is None:
            await asyncio.sleep(min(poll, max(0.0, deadline - loop.time())))
            if (await node.tip_hash()) != template.previous_hash:
                return
            continue
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                fresh = await node.mining_template(template.address, longpollid)
        except TimeoutError:
            return  # the refresh is due
        if fresh.get("previous_hash") != template.previous_hash:
            return
        next_id = fresh.get("longpollid")
        longpollid = next_id if isinstance(next_id, str) else None


async def _submit(node: NodeClient, template: Template, block: bytes, as_json: bool) -> bool:
    """Post the block and print the outcome; True if the node connected it."""
    from consensus.hashing import hash_to_hex, sha256d
    from wallet.amounts import format_amount
    from wallet.errors import NodeError

    block_hash = hash_to_hex(sha256d(block[:80]))
    try:
        result = await node.submit_block(block)
    except NodeError as exc:
        if exc.status == 0 or exc.status >= 500:
            raise
        print(f"error: block {template.height} {block_hash} refused: {exc}", file=sys.stderr)
        return False
    status = str(result.get("status"))
    record = {
        "height": template.height,
        "hash": str(result.get("hash", block_hash)),
        "status": status,
        "transactions": template.transactions,
        "reward": template.reward,
    }
    if as_json:
        print(json.dumps(record), flush=True)
    else:
        print(
            f"block {record['height']} {record['hash']} {status}"
            f" ({template.transactions} tx, reward {format_amount(template.reward)})",
            flush=True,
        )
    return status == "connected"
