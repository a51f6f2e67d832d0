"""``seedchain demo``: a local regtest network on this machine, shown live.

Today: one regtest node in a fresh data directory, mining with the fast proof-of-work engine
to a throw-away address and logging every block. (The full demo — several nodes, a pool,
miners and wallets paying each other — grows here as those parts land.)
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
from pathlib import Path

from seedchain.runner import env, run_service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run a local regtest network on this machine, shown live")
    p.add_argument(
        "--datadir", default=env("DEMO_DATADIR"), help="default: a new temporary directory"
    )
    p.add_argument("--threads", type=int, default=1, help="mining threads")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between blocks")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from consensus.addresses import encode_address, key_hash
    from consensus.params import REGTEST
    from consensus.signing import public_key
    from node.config import NodeConfig, parse_hostport
    from node.logs import configure_logging
    from node.server import Node

    configure_logging("console")
    datadir = (
        Path(args.datadir) if args.datadir else Path(tempfile.mkdtemp(prefix="seedchain-demo-"))
    )
    address = encode_address(key_hash(public_key(secrets.token_bytes(32))), REGTEST.hrp)
    print(f"seedchain demo: regtest node in {datadir}, mining to {address} (Ctrl-C stops)")
    config = NodeConfig(
        params=REGTEST,
        datadir=datadir,
        p2p_bind=parse_hostport("127.0.0.1:0"),
        api_bind=parse_hostport("127.0.0.1:0"),
        mine_to=address,
        mine_threads=args.threads,
        mine_interval=args.interval,
        log_format="console",
    )
    return run_service(Node(config).run)
