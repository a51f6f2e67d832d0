"""``seedchain node``: run a full node until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from seedchain.cli import CommandError
from seedchain.conffile import CONF_NAME, ConfFileError, apply_conf_file
from seedchain.runner import add_log_arguments, env, run_service

if TYPE_CHECKING:
    from node.config import NodeConfig

DEFAULT_VERIFY_PROCESSES = max(1, min(8, os.cpu_count() or 1))
DEFAULT_VERIFY_THREADS = max(0, min(4, (os.cpu_count() or 1) - 1))
# The SEEDCHAIN_* variable of an option whose name is not its destination's in capitals.
ENV_NAMES = {"peer": "SEEDCHAIN_PEERS"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("node", help="run a full node until SIGINT/SIGTERM")
    p.add_argument("--network", default=env("NETWORK", "main"), choices=["main", "test", "regtest"])
    p.add_argument("--datadir", default=env("DATADIR"), help="default ~/.seedchain/<network>")
    p.add_argument(
        "--conf",
        default=env("CONF"),
        metavar="FILE",
        help=f"configuration file (default: <datadir>/{CONF_NAME} if it exists); command-line"
        " options and SEEDCHAIN_* variables override it",
    )
    p.add_argument("--p2p-bind", default=env("P2P_BIND"), help="HOST:PORT, default 0.0.0.0:<p2p>")
    p.add_argument("--api-bind", default=env("API_BIND"), help="HOST:PORT, default 127.0.0.1:<api>")
    peers = env("PEERS")
    p.add_argument(
        "--peer",
        action="append",
        default=[x for x in (peers or "").split(",") if x],
        help="HOST:PORT of a peer to keep connected (repeatable)",
    )
    p.add_argument("--mine-to", default=env("MINE_TO"), help="mine blocks paying this address")
    p.add_argument("--mine-threads", type=int, default=env("MINE_THREADS", "1"))
    p.add_argument(
        "--mine-interval",
        type=float,
        default=env("MINE_INTERVAL", "-1"),
        help="minimum seconds between mined blocks (default: 1 on regtest, 0 elsewhere)",
    )
    add_log_arguments(p)
    p.add_argument("--cache-mb", type=int, default=env("CACHE_MB", "128"))
    p.add_argument("--mempool-mb", type=int, default=env("MEMPOOL_MB", "64"))
    p.add_argument(
        "--min-relay-fee",
        type=int,
        default=env("MIN_RELAY_FEE", "1"),
        metavar="RATE",
        help="units per byte a transaction must pay to enter the mempool (Core's"
        " -minrelaytxfee; default 1)",
    )
    p.add_argument(
        "--mempool-expiry",
        type=int,
        default=env("MEMPOOL_EXPIRY", "336"),
        metavar="HOURS",
        help="drop mempool transactions older than this (Core's -mempoolexpiry; default 336)",
    )
    p.add_argument(
        "--advertise",
        default=env("ADVERTISE"),
        metavar="HOST:PORT",
        help="the address peers should dial us at, sent in our version message (Core's"
        " -externalip)",
    )
    p.add_argument(
        "--persist-mempool",
        action=argparse.BooleanOptionalAction,
        default=env("PERSIST_MEMPOOL", "1") not in ("", "0"),
        help="save the mempool to <datadir>/mempool.dat at shutdown and load it at start"
        " (default: on)",
    )
    p.add_argument(
        "--verify-processes",
        type=int,
        default=env("VERIFY_PROCESSES", str(DEFAULT_VERIFY_PROCESSES)),
        help="worker processes that check signatures of large blocks and of blocks connected"
        " together while syncing; they start when first needed (0: none; default: the CPU count)",
    )
    p.add_argument(
        "--verify-threads",
        type=int,
        default=env("VERIFY_THREADS", str(DEFAULT_VERIFY_THREADS)),
        help="helper threads that check the signatures of transactions posted to the API"
        " together (0: the chain thread alone; default: one less than the CPU count)",
    )
    p.add_argument(
        "--prune",
        type=int,
        default=env("PRUNE", "0"),
        metavar="MiB",
        help="keep the stored blocks under this many MiB, deleting the oldest (Core's -prune;"
        " at least 550, or 0: keep every block). A pruned node keeps no address index",
    )
    p.add_argument(
        "--block-max-size",
        type=int,
        default=env("BLOCK_MAX_SIZE", "0"),
        metavar="BYTES",
        help="fill the blocks this node mines or templates offer up to this size (Core's"
        " -blockmaxweight; default 0: the consensus limit)",
    )
    p.add_argument(
        "--block-min-fee",
        type=int,
        default=env("BLOCK_MIN_FEE", "0"),
        metavar="RATE",
        help="units per byte a package must pay to enter this node's block templates (Core's"
        " -blockmintxfee; default 0)",
    )
    p.add_argument(
        "--assume-valid",
        default=env("ASSUME_VALID", ""),
        metavar="HASH",
        help="a block known to be valid: its ancestors more than two weeks of work below it"
        " are connected without checking their signatures, every other rule still checked"
        " (Core's -assumevalid; default none, 0: none)",
    )
    p.add_argument(
        "--stop-at-height",
        type=int,
        default=env("STOP_AT_HEIGHT", "") or None,
        metavar="N",
        help="connect blocks up to height N, never past it, then stop (Core's -stopatheight)",
    )
    p.add_argument(
        "--max-upload-target",
        type=int,
        default=env("MAX_UPLOAD_TARGET", "0"),
        metavar="MiB",
        help="keep the bytes sent to peers per 24 h under this: past it, blocks older than a"
        " week are not served (Core's -maxuploadtarget; 0: no target)",
    )
    p.add_argument(
        "--block-notify",
        default=env("BLOCK_NOTIFY"),
        metavar="CMD",
        help="run CMD (by /bin/sh) when the best block changes; %%s in CMD is the block's hash"
        " (Core's -blocknotify)",
    )
    p.add_argument(
        "--no-addrbook-dial",
        action="store_true",
        default=env("NO_ADDRBOOK_DIAL", "") not in ("", "0"),
        help="dial only --peer addresses, never addresses learned from peers",
    )
    whitelist = env("WHITELIST")
    p.add_argument(
        "--whitelist",
        action="append",
        metavar="SUBNET",
        default=[x.strip() for x in (whitelist or "").split(",") if x.strip()],
        help="an IP or subnet whose peers are never refused for a ban or discouragement,"
        " never discouraged for misbehaving and never evicted (Core's -whitelist=noban;"
        " repeatable)",
    )
    p.add_argument(
        "--no-listen",
        action="store_true",
        default=env("NO_LISTEN", "") not in ("", "0"),
        help="accept no inbound P2P connections (Core's -listen=0)",
    )
    p.add_argument(
        "--no-network-activity",
        action="store_true",
        default=env("NO_NETWORK_ACTIVITY", "") not in ("", "0"),
        help="start with P2P network activity off: no connections until the admin"
        " POST /v1/network/active turns it on (Core's -networkactive=0)",
    )
    p.add_argument(
        "--max-outbound",
        type=int,
        default=env("MAX_OUTBOUND", "8"),
        help="automatic outbound P2P connections (default: 8; --peer ones come on top)",
    )
    p.add_argument(
        "--max-inbound",
        type=int,
        default=env("MAX_INBOUND", "64"),
        help="inbound P2P connections; beyond it a newcomer evicts one (default: 64)",
    )
    p.add_argument(
        "--stall-timeout",
        type=float,
        default=env("STALL_TIMEOUT", "5"),
        help="seconds a requested block may take before its peer is dropped",
    )
    p.add_argument(
        "--api-rate-limit",
        type=float,
        default=env("API_RATE_LIMIT", "50"),
        help="API requests per second per client address (0: no limit)",
    )
    p.add_argument(
        "--api-rate-burst", type=float, default=env("API_RATE_BURST", "100")
    )
    p.set_defaults(handler=run, command_parser=p)


def build_config(args: argparse.Namespace) -> NodeConfig:
    from consensus.params import network
    from node.config import (
        ConfigError,
        NodeConfig,
        default_datadir,
        parse_assume_valid,
        parse_hostport,
    )

    params = network(args.network)
    datadir = Path(args.datadir).expanduser() if args.datadir else default_datadir(params)
    try:
        apply_conf_file(args, datadir / CONF_NAME, ENV_NAMES)
        return NodeConfig(
            params=params,
            datadir=datadir,
            p2p_bind=parse_hostport(args.p2p_bind or "0.0.0.0", params.p2p_port),
            api_bind=parse_hostport(args.api_bind or "127.0.0.1", params.api_port),
            peers=tuple(parse_hostport(x, params.p2p_port) for x in args.peer),
            mine_to=args.mine_to,
            mine_threads=args.mine_threads,
            mine_interval=(
                args.mine_interval
                if args.mine_interval >= 0
                else (1.0 if params.name == "regtest" else 0.0)
            ),
            log_format=args.log_format,
            log_level=args.log_level,
            listen=not args.no_listen,
            network_active=not args.no_network_activity,
            max_outbound=args.max_outbound,
            max_inbound=args.max_inbound,
            cache_mb=args.cache_mb,
            mempool_mb=args.mempool_mb,
            min_relay_fee_rate=args.min_relay_fee,
            mempool_expiry_hours=args.mempool_expiry,
            advertise=args.advertise or "",
            persist_mempool=args.persist_mempool,
            verify_processes=args.verify_processes,
            verify_threads=args.verify_threads,
            block_notify=args.block_notify or None,
            prune_bytes=args.prune * 1024 * 1024,
            max_upload_target=args.max_upload_target * 1024 * 1024,
            block_max_size=args.block_max_size,
            block_min_fee_rate=args.block_min_fee,
            assume_valid=parse_assume_valid(args.assume_valid),
            stop_at_height=args.stop_at_height,
            dial_from_addrbook=not args.no_addrbook_dial,
            whitelist=tuple(args.whitelist),
            stall_timeout=args.stall_timeout,
            extra={
                "api_rate_limit": str(args.api_rate_limit),
                "api_rate_burst": str(args.api_rate_burst),
            },
        )
    except (ConfigError, ConfFileError) as exc:
        raise CommandError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from node.datadir import DatadirLocked
    from node.logs import configure_logging
    from node.server import Node
    from node.storage import StorageError

    config = build_config(args)
    configure_logging(config.log_format, config.log_level)
    node = Node(config)
    try:
        return run_service(node.run)
    except (DatadirLocked, StorageError, OSError) as exc:
        if node.started.is_set():  # not a start-up failure: keep the whole story
            raise
        # Another node on the datadir, a database of another network, a port in use, ...
        raise CommandError(f"cannot start the node: {exc}") from None
