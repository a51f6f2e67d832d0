"""``seedchain demo``: a whole local network on this machine, shown live.

Three regtest nodes (node1 and node2 dial the ones before them), a Stratum pool on node0
paying by PROP with a 1 % operator fee, two miners with different thread counts mining to the
addresses of two wallets, and the wallets paying each other every few seconds. node0 first
mines 110 blocks to the wallets so they have mature coins at once. Every part is a real
``seedchain`` process with its log in the demo directory; Ctrl-C (or ``--duration``) stops them
all cleanly. When ``--duration`` ends, the pool is audited first, as a miner would with
``seedchain audit``: its payouts recomputed from its share log and matched with the chain.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from typing import Any

from seedchain.runner import env, run_service

PAY_INTERVAL = 3.0
REFRESH = 1.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run a whole local network on this machine, shown live")
    p.add_argument(
        "--datadir", default=env("DEMO_DATADIR"), help="default: a new temporary directory"
    )
    p.add_argument(
        "--duration",
        type=float,
        default=0,
        help="stop after this many seconds (0: run until Ctrl-C)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return run_service(lambda: demo(args))


async def demo(args: argparse.Namespace) -> None:
    import aiohttp

    from seedchain.demo_network import DemoMiner, DemoNetwork, demo_root
    from seedchain.demo_wallets import DemoWallet

    root = demo_root(args.datadir)
    alice, bob, operator = DemoWallet("alice"), DemoWallet("bob"), DemoWallet("operator")
    miners = [DemoMiner("miner-a", alice.address, 1), DemoMiner("miner-b", bob.address, 2)]
    net = DemoNetwork(root, miners, operator.address)
    print(f"seedchain demo: logs and data in {root}; Ctrl-C stops everything", flush=True)
    stats: dict[str, Any] = {"payments": 0, "started": time.monotonic()}
    try:
        await net.start_nodes()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            token = net.nodes[0].admin_token()
            for wallet in (alice, bob):
                async with session.post(
                    f"{net.nodes[0].url}/v1/mining/generate",
                    json={"blocks": 55, "address": wallet.address},
                    headers={"Authorization": f"Bearer {token}"},
                ) as response:
                    response.raise_for_status()
            await net.start_pool_and_miners()
            await _run_view(net, (alice, bob), session, stats, args.duration)
            stats["audit"] = await _audit(net)
    finally:
        await net.stop()
        _print_summary(stats)


async def _run_view(
    net: Any, wallets: tuple[Any, Any], session: Any, stats: dict[str, Any], duration: float
) -> None:
    from rich.live import Live

    rng = random.Random()
    interactive = sys.stdout.isatty()
    next_payment = next_print = 0.0
    live = Live(refresh_per_second=2, transient=False) if interactive else None
    if live is not None:
        live.start()
    try:
        turn = 0
        while duration <= 0 or time.monotonic() - stats["started"] < duration:
            now = time.monotonic()
            if now >= next_payment:
                next_payment = now + PAY_INTERVAL
                payer, payee = wallets[turn % 2], wallets[(turn + 1) % 2]
                turn += 1
                node = net.nodes[1 + turn % 2].url  # pay through node1 and node2
                if await payer.pay(session, node, payee, rng):
                    stats["payments"] += 1
            await _collect(net, wallets, session, stats)
            if live is not None:
                live.update(_render(stats))
            elif now >= next_print:
                next_print = now + 5
                print(_line(stats), flush=True)
            if net.crashed():
                raise RuntimeError(f"demo process exited: {', '.join(net.crashed())}")
            await asyncio.sleep(REFRESH)
    finally:
        if live is not None:
            live.stop()


async def _get(session: Any, url: str) -> Any:
    try:
        async with session.get(url) as response:
            return await response.json() if response.status == 200 else None
    except Exception:  # a view of live processes: a missed sample is shown as "-"
        return None


async def _collect(net: Any, wallets: tuple[Any, Any], session: Any, stats: dict[str, Any]) -> None:
    stats["nodes"] = [(n.name, await _get(session, f"{n.url}/v1/chain")) for n in net.nodes]
    stats["pool"] = await _get(session, f"{net.pool_url}/v1/pool")
    stats["miners"] = [
        (m, await _get(session, f"{net.pool_url}/v1/pool/miners/{m.address}")) for m in net.miners
    ]
    balances = []
    for wallet in wallets:
        try:
            balances.append((wallet, *(await wallet.balance(session, net.nodes[0].url))))
        except Exception:  # the node was busy: skip this sample
            balances.append((wallet, None, None))
    stats["wallets"] = balances


def _coins(units: int | None) -> str:
    from wallet.amounts import format_amount

    return "-" if units is None else format_amount(units)


def _render(stats: dict[str, Any]) -> Any:
    from rich.console import Group
    from rich.table import Table

    nodes = Table(title="nodes", expand=True)
    for column in ("node", "height", "tip", "peers", "mempool"):
        nodes.add_column(column)
    for name, chain in stats.get("nodes", []):
        if chain is None:
            nodes.add_row(name, "-", "-", "-", "-")
        else:
            nodes.add_row(
                name,
                str(chain["height"]),
                chain["tip"][:16],
                str(chain["peers"]),
                str(chain["mempool"]["count"]),
            )
    pool = stats.get("pool") or {}
    miners = Table(
        title=f"pool: {pool.get('scheme', '-')}, {len(pool.get('last_blocks') or [])}"
        f" recent blocks, {pool.get('hashrate', 0) / 1e6:.1f} MH/s",
        expand=True,
    )
    for column in ("miner", "threads", "MH/s", "shares", "blocks", "paid (confirmed)", "immature"):
        miners.add_column(column)
    for miner, sample in stats.get("miners", []):
        info = sample or {}
        paid = info.get("paid", {})
        miners.add_row(
            miner.name,
            str(miner.threads),
            f"{info.get('hashrate', 0) / 1e6:.1f}",
            str(info.get("shares_total", "-")),
            str(info.get("blocks_found", "-")),
            _coins(paid.get("confirmed")),
            _coins(paid.get("immature")),
        )
    wallets = Table(title=f"wallets: {stats['payments']} payments", expand=True)
    for column in ("wallet", "address", "confirmed", "unconfirmed", "sent", "received"):
        wallets.add_column(column)
    for wallet, confirmed, unconfirmed in stats.get("wallets", []):
        wallets.add_row(
            wallet.name,
            wallet.address[:20] + "…",
            _coins(confirmed),
            _coins(unconfirmed),
            str(wallet.sent),
            str(wallet.received_payments),
        )
    return Group(nodes, miners, wallets)


def _line(stats: dict[str, Any]) -> str:
    heights = ",".join(str(c["height"]) if c else "-" for _, c in stats.get("nodes", []))
    shares = ",".join(str((i or {}).get("shares_total", "-")) for _, i in stats.get("miners", []))
    return f"heights={heights} shares={shares} payments={stats['payments']}"


async def _audit(net: Any) -> str:
    """``seedchain audit`` of the demo's pool against node0 before everything stops: its
    payouts recomputed from the share log and matched with the coinbases (docs/pool.md)."""
    from seedchain.cli import CommandError
    from seedchain.cmd_audit import audit

    args = argparse.Namespace(
        pool=net.pool_url, node=net.nodes[0].url, blocks=50, fee=None, pplns_n=None
    )
    report: dict[str, Any] = {}
    for _ in range(3):  # a block recorded this very moment may not be settled yet: ask again
        try:
            report = await audit(args)
        except CommandError as exc:
            return f"audit failed: {exc}"
        if report["ok"]:
            break
        await asyncio.sleep(1)
    matched = sum(1 for block in report["blocks"] if block["ok"])
    balances = report["balances_checked"] - len(report["balance_problems"])
    return (
        f"audit: {matched} of {len(report['blocks'])} pool blocks pay what the share log says,"
        f" {balances} of {report['balances_checked']} carried balances match"
    )


def _print_summary(stats: dict[str, Any]) -> None:
    if "nodes" in stats:
        print("demo stopped: " + _line(stats), flush=True)
    if "audit" in stats:
        print(stats["audit"], flush=True)
