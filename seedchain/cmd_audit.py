"""``seedchain audit``: check a pool's payouts against its public share log.

    seedchain audit --pool URL [--node URL] [--blocks N] [--fee PERCENT] [--pplns-n N] [--json]

What an honest pool lets any miner check (``pool.audit`` says what each block's check covers):
the pool's API gives its found blocks, with the share window and the credits each one paid, and
its share log; a node (``--node``) gives each block's bits and coinbase. For the newest
``--blocks`` blocks (default 20), every credit is recomputed from the shares of the block's
window with the scheme's formula and the announced fee (``/v1/pool``, or ``--fee`` if it has
changed), and matched against the ledger and the coinbase on the chain. Over every block, each
miner's carried balance (the sum of its ``carry_delta`` over live blocks) must be the one
``/v1/pool/miners/{address}`` reports. Exit 0 when everything matches; 1 with one line saying
how many blocks or balances do not, after the report.

Options fall back to ``SEEDCHAIN_POOL_URL`` and ``SEEDCHAIN_NODE``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from seedchain.cli import CommandError
from seedchain.httpjson import get_json
from seedchain.runner import env

if TYPE_CHECKING:
    import aiohttp

    from pool.audit import BlockAudit

SHARE_PAGE = 1000
BLOCK_PAGE = 100
LIVE = frozenset({"pending", "accepted", "confirmed"})
TIMEOUT = 30.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "audit",
        help="check a pool's payouts against its public share log",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--pool", default=env("POOL_URL"), help="the pool's API, http://HOST:PORT")
    p.add_argument(
        "--node", default=env("NODE"), help="a node's REST API, to check bits and coinbases"
    )
    p.add_argument("--blocks", type=int, default=20, help="audit the newest N blocks (default 20)")
    p.add_argument("--fee", default=None, help="the fee in percent, if not the announced one")
    p.add_argument("--pplns-n", type=int, default=None, help="if not the announced one")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)


class Fetcher:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def json(self, url: str, *, missing_ok: bool = False) -> Any:
        """GET ``url`` as JSON; None for a 404 when ``missing_ok``."""
        return await get_json(self.session, url, missing_ok=missing_ok)

    async def blocks(self, pool: str) -> list[dict[str, Any]]:
        """Every found block, newest first."""
        items: list[dict[str, Any]] = []
        query = f"?limit={BLOCK_PAGE}"
        while True:
            page = await self.json(f"{pool}/v1/pool/blocks{query}")
            items.extend(page["blocks"])
            if page["next_before_height"] is None:
                return items
            query = f"?limit={BLOCK_PAGE}&before_height={page['next_before_height']}"

    async def shares(self, pool: str, start: int, end: int) -> list[dict[str, Any]]:
        """The log's shares with ``start < id <= end``, in id order."""
        items: list[dict[str, Any]] = []
        after = start
        while after < end:
            page = await self.json(
                f"{pool}/v1/pool/shares?after={after}&limit={min(SHARE_PAGE, end - after)}"
            )
            shares = [s for s in page["shares"] if s["id"] <= end]
            items.extend(shares)
            if len(page["shares"]) < min(SHARE_PAGE, end - after) or not shares:
                return items
            after = shares[-1]["id"]
        return items

    async def chain_view(self, node: str, block_hash: str) -> tuple[int | None, Any]:
        """The block's bits and its coinbase's ``(address, value)`` outputs; ``(None, None)``
        when the node does not have the block."""
        summary = await self.json(f"{node}/v1/block/{block_hash}", missing_ok=True)
        if summary is None:
            return None, None
        txids = await self.json(f"{node}/v1/block/{block_hash}/txids", missing_ok=True)
        if not txids:
            return summary["bits"], None
        coinbase = await self.json(f"{node}/v1/tx/{txids[0]}")
        outputs = [(o.get("scriptpubkey_address") or "", o["value"]) for o in coinbase["vout"]]
        return summary["bits"], outputs


async def audit(args: argparse.Namespace) -> dict[str, Any]:
    import aiohttp

    from pool.audit import audit_block, carried_balances
    from pool.rewards import fee_ppm_from_percent

    pool = args.pool.rstrip("/")
    node = args.node.rstrip("/") if args.node else None
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        fetch = Fetcher(session)
        info = await fetch.json(f"{pool}/v1/pool")
        try:
            fee_ppm = fee_ppm_from_percent(
                str(args.fee if args.fee is not None else info["fee_percent"])
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        pplns_n = args.pplns_n if args.pplns_n is not None else int(info["pplns_n"])
        pruned_upto = int(info.get("pruned_upto", 0))
        blocks = await fetch.blocks(pool)
        audits: list[BlockAudit] = []
        for block in blocks[: args.blocks]:
            shares = await fetch.shares(pool, block["window_start"], block["window_end"])
            bits, coinbase = (
                (None, None) if node is None else await fetch.chain_view(node, block["hash"])
            )
            audits.append(
                audit_block(
                    block,
                    shares,
                    fee_ppm=fee_ppm,
                    pplns_n=pplns_n,
                    bits=bits,
                    coinbase=coinbase,
                    pruned_upto=pruned_upto,
                )
            )
        balances = carried_balances(blocks, LIVE)
        addresses = sorted({c["address"] for b in blocks for c in b["credits"]})
        balance_problems = []
        for address in addresses:
            reported = (await fetch.json(f"{pool}/v1/pool/miners/{address}"))["carried"]
            if reported != balances.get(address, 0):
                balance_problems.append(
                    f"{address}: the pool reports {reported} carried, its blocks add up to"
                    f" {balances.get(address, 0)}"
                )
    return {
        "pool": pool,
        "node": node,
        "fee_ppm": fee_ppm,
        "pplns_n": pplns_n,
        "blocks_found": len(blocks),
        "blocks": [a.to_json() for a in audits],
        "balances_checked": len(addresses),
        "balance_problems": balance_problems,
        "ok": all(a.ok for a in audits) and not balance_problems,
    }


def run(args: argparse.Namespace) -> int:
    if not args.pool:
        raise CommandError("--pool URL is required (the pool's API)")
    if args.blocks < 1:
        raise CommandError("--blocks must be at least 1")
    report = asyncio.run(audit(args))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    bad_blocks = sum(1 for b in report["blocks"] if not b["ok"])
    bad_balances = len(report["balance_problems"])
    if bad_blocks or bad_balances:
        raise CommandError(
            f"{bad_blocks} of {len(report['blocks'])} blocks and {bad_balances} of"
            f" {report['balances_checked']} carried balances do not match"
        )
    return 0


def _print(report: dict[str, Any]) -> None:
    rows = [
        (
            str(b["height"]),
            b["hash"][:16],
            b["scheme"],
            b["status"],
            str(b["shares"]),
            "yes" if b["coinbase_checked"] else "no",
            "ok" if b["ok"] else "; ".join(b["problems"]),
        )
        for b in report["blocks"]
    ]
    header = ("height", "block", "scheme", "status", "shares", "coinbase", "result")
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{report['pool']}: {report['blocks_found']} blocks found")
        for name in header:
            table.add_column(name)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
    else:
        print("\t".join(header))
        for row in rows:
            print("\t".join(row))
    for problem in report["balance_problems"]:
        print(f"carried balance: {problem}")
    print(
        f"{sum(1 for b in report['blocks'] if b['ok'])} of {len(report['blocks'])} blocks match;"
        f" {report['balances_checked'] - len(report['balance_problems'])} of"
        f" {report['balances_checked']} carried balances match"
        f" (fee {report['fee_ppm'] / 10_000}%, PPLNS N {report['pplns_n']})"
    )
