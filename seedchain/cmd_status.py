"""``seedchain status``: one screen about a running node (``bitcoin-cli -getinfo`` and
``-netinfo``).

    seedchain status [--node URL] [--network N] [--json] [--watch SECONDS]

Reads the node's public API only (``/v1/node``, ``/v1/chain``, ``/v1/mining/info``,
``/v1/mempool``, ``/v1/peers``, ``/v1/fee-estimates``; no admin token): versions and uptime,
the chain and sync progress, difficulty and the network's hash rate, the mempool and fee
estimates, and each peer. ``--watch S`` redraws every S seconds until Ctrl-C (a live view on a
terminal, one report after another elsewhere). An unreachable node is a one-line error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from seedchain.cli import CommandError
from seedchain.httpjson import add_node_arguments, get_json, node_url
from seedchain.runner import run_service

TIMEOUT = 10.0
FEE_TARGETS = ("1", "6", "144")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "status", help="one screen about a running node", description=__doc__.splitlines()[0]
    )
    add_node_arguments(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--watch", type=float, default=None, metavar="SECONDS", help="keep redrawing")
    p.set_defaults(handler=run)


async def gather_status(session: Any, url: str) -> dict[str, Any]:
    """Everything the report shows, from the node's public endpoints."""
    # One after another: a handful of local requests, and a failure leaves nothing running.
    node = await get_json(session, f"{url}/v1/node")
    chain = await get_json(session, f"{url}/v1/chain")
    mining = await get_json(session, f"{url}/v1/mining/info")
    mempool = await get_json(session, f"{url}/v1/mempool")
    peers = await get_json(session, f"{url}/v1/peers")
    fees = await get_json(session, f"{url}/v1/fee-estimates", accept=frozenset({200, 503}))
    return {
        "url": url,
        "node": node,
        "chain": chain,
        "mining": mining,
        "mempool": mempool,
        "peers": peers,
        "fee_estimates": fees,  # None while the node is still syncing
    }


def _hashrate(hashps: float) -> str:
    for unit, scale in (("EH/s", 1e18), ("PH/s", 1e15), ("TH/s", 1e12), ("GH/s", 1e9),
                        ("MH/s", 1e6), ("kH/s", 1e3)):  # fmt: skip
        if hashps >= scale:
            return f"{hashps / scale:.2f} {unit}"
    return f"{hashps:.2f} H/s"


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m {seconds}s"


def summary_pairs(report: dict[str, Any]) -> list[tuple[str, str]]:
    node, chain, mining = report["node"], report["chain"], report["mining"]
    mempool, fees = report["mempool"], report["fee_estimates"]
    p2p = node["p2p"]
    links, totals = p2p["connections"], p2p["totals"]
    sync = "syncing" if chain["initial_block_download"] else "synced"
    if chain.get("pruned"):
        sync += f", pruned to {chain['prune_height'] or 0}"
    progress = f"{chain['verification_progress'] * 100:.2f}%"
    pairs = [
        ("node", f"{node['user_agent']} on {node['network']}, up {_duration(node['uptime'])}"),
        ("chain", f"height {chain['height']} ({sync}, headers {chain['headers']}, {progress})"),
        ("tip", chain["tip"]),
        ("difficulty", f"{chain['difficulty']:.6g} (next {mining['next']['difficulty']:.6g})"),
        (
            "network hash rate",
            f"{_hashrate(mining['networkhashps'])} over {mining['hashps_blocks']} blocks",
        ),
        (
            "mempool",
            f"{mempool['count']} transactions, {mempool['vsize']} bytes,"
            f" minimum {mempool['min_fee_rate']} units/byte",
        ),
        (
            "peers",
            f"{links['in']} in, {links['out']} out"
            f" (limits {p2p['max_inbound']} in, {p2p['max_outbound']} out)"
            + ("" if p2p.get("network_active", True) else "; network activity off"),
        ),
        ("traffic", f"{totals['in']} bytes in, {totals['out']} bytes out"),
    ]
    upload = p2p.get("upload_target") or {}
    if upload.get("target"):  # --max-upload-target
        served = "served" if upload["serve_historical_blocks"] else "not served"
        pairs.append(
            (
                "upload target",
                f"{upload['bytes_left_in_cycle'] // 2**20} of {upload['target'] // 2**20} MiB"
                f" left, {_duration(upload['time_left_in_cycle'])} to go; old blocks {served}",
            )
        )
    if fees is not None:
        rates = ", ".join(f"{t} blocks: {fees[t]}" for t in FEE_TARGETS if t in fees)
        pairs.append(("fee estimates", rates or "none yet"))
    local = mining["local"]
    if local["mining"]:
        found = f"{local['threads']} threads, {local['blocks_found']} blocks found"
        pairs.append(("own miner", f"{_hashrate(local['hashps'])}, {found}"))
    return pairs


def peer_rows(report: dict[str, Any]) -> list[list[str]]:
    return [
        [
            peer["address"],
            "in" if peer["inbound"] else "out",
            str(peer["user_agent"] or ""),
            "" if peer["best_height"] is None else str(peer["best_height"]),
            "" if peer["latency_ms"] is None else f"{peer['latency_ms']:.1f}",
            str(peer["bytes_in"]),
            str(peer["bytes_out"]),
            ",".join(peer.get("permissions", [])),
        ]
        for peer in report["peers"]
    ]


PEER_COLUMNS = ["peer", "dir", "agent", "height", "ping ms", "bytes in", "bytes out", "perm"]


def render(report: dict[str, Any]) -> Any:
    """A rich renderable of the report (for a terminal)."""
    from rich.console import Group
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in summary_pairs(report):
        grid.add_row(key, value)
    if not report["peers"]:
        return grid
    peers = Table(title=f"{len(report['peers'])} peers")
    for index, column in enumerate(PEER_COLUMNS):
        peers.add_column(column, justify="right" if index >= 3 else "left")
    for row in peer_rows(report):
        peers.add_row(*row)
    return Group(grid, peers)


def print_plain(report: dict[str, Any]) -> None:
    width = max(len(key) for key, _ in summary_pairs(report))
    for key, value in summary_pairs(report):
        print(f"{key:<{width}}  {value}")
    if report["peers"]:
        print("\t".join(PEER_COLUMNS))
        for row in peer_rows(report):
            print("\t".join(row))


async def status(args: argparse.Namespace, url: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
        if args.watch is None:
            report = await gather_status(session, url)
            if args.json:
                print(json.dumps(report, indent=2))
            elif sys.stdout.isatty():
                from rich.console import Console

                Console().print(render(report))
            else:
                print_plain(report)
            return
        if sys.stdout.isatty() and not args.json:
            from rich.live import Live

            with Live(render(await gather_status(session, url)), auto_refresh=False) as live:
                while True:
                    await asyncio.sleep(args.watch)
                    live.update(render(await gather_status(session, url)), refresh=True)
        while True:
            report = await gather_status(session, url)
            if args.json:
                print(json.dumps(report), flush=True)
            else:
                print_plain(report)
                print(flush=True)
            await asyncio.sleep(args.watch)


def run(args: argparse.Namespace) -> int:
    if args.watch is not None and not 0.2 <= args.watch <= 3600:
        raise CommandError("--watch must be between 0.2 and 3600 seconds")
    url = node_url(args)
    if args.watch is None:
        asyncio.run(status(args, url))
        return 0
    return run_service(lambda: status(args, url))  # until SIGINT / SIGTERM
