"""``seedchain pool``: the Stratum v1 mining pool, a client of a node's REST API."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from seedchain.cli import CommandError
from seedchain.conffile import ConfFileError, apply_conf_file
from seedchain.runner import add_log_arguments, env, run_service

if TYPE_CHECKING:
    from pool.config import PoolConfig

POOL_CONF_NAME = "pool.conf"
# Each option's SEEDCHAIN_* variable ("" for none), for the configuration file's precedence.
ENV_NAMES = {
    "node": "SEEDCHAIN_NODE",
    "stratum_bind": "SEEDCHAIN_POOL_STRATUM_BIND",
    "api_bind": "SEEDCHAIN_POOL_API_BIND",
    "scheme": "SEEDCHAIN_POOL_SCHEME",
    "operator": "SEEDCHAIN_POOL_OPERATOR",
    "fee": "SEEDCHAIN_POOL_FEE",
    "pplns_n": "SEEDCHAIN_POOL_PPLNS_N",
    "dust": "SEEDCHAIN_POOL_DUST",
    "prune_shares": "SEEDCHAIN_POOL_PRUNE_SHARES",
    "difficulty": "SEEDCHAIN_POOL_DIFFICULTY",
    "log_format": "SEEDCHAIN_LOG_FORMAT",
    "log_level": "SEEDCHAIN_LOG_LEVEL",
}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("pool", help="run the Stratum v1 mining pool until SIGINT/SIGTERM")
    p.add_argument("--network", default=env("NETWORK", "main"), choices=["main", "test", "regtest"])
    p.add_argument("--node", default=env("NODE"), help="the node's REST API, http://HOST:PORT")
    p.add_argument(
        "--stratum-bind", default=env("POOL_STRATUM_BIND"), help="HOST:PORT (0.0.0.0:<pool port>)"
    )
    p.add_argument(
        "--api-bind", default=env("POOL_API_BIND"), help="HOST:PORT (127.0.0.1:<pool port + 1>)"
    )
    p.add_argument(
        "--scheme", default=env("POOL_SCHEME", "pplns"), choices=["pplns", "prop", "solo"]
    )
    p.add_argument("--operator", default=env("POOL_OPERATOR"), help="address paid the fee")
    p.add_argument("--fee", default=env("POOL_FEE", "0"), help="operator fee in percent, e.g. 1.5")
    p.add_argument("--datadir", default=env("POOL_DATADIR"), help="~/.seedchain/<network>/pool")
    p.add_argument(
        "--conf",
        default=env("POOL_CONF"),
        metavar="FILE",
        help=f"configuration file (default: <datadir>/{POOL_CONF_NAME} if it exists), as"
        " seedchain node's; command-line options and SEEDCHAIN_* variables override it",
    )
    p.add_argument(
        "--pplns-n",
        type=int,
        default=env("POOL_PPLNS_N", "2"),
        help="PPLNS window in multiples of the network difficulty (default 2)",
    )
    p.add_argument(
        "--dust",
        type=int,
        default=env("POOL_DUST", "10000"),
        help="smallest payout in base units; less is carried (default 10000)",
    )
    p.add_argument(
        "--prune-shares",
        type=int,
        default=env("POOL_PRUNE_SHARES", "0"),
        metavar="N",
        help="delete old shares, keeping the windows of the newest N blocks found, the"
        " current round and a day of shares (default 0: keep every share)",
    )
    p.add_argument(
        "--difficulty",
        type=float,
        default=env("POOL_DIFFICULTY", "1"),
        help="initial share difficulty (difficulty 1 = Bitcoin's)",
    )
    p.add_argument("--min-difficulty", type=float, default=None)
    p.add_argument("--max-difficulty", type=float, default=None)
    p.add_argument(
        "--share-interval",
        type=float,
        default=10.0,
        help="seconds between shares that vardiff aims at (default 10)",
    )
    p.add_argument("--no-vardiff", action="store_true", help="keep every worker at --difficulty")
    p.add_argument("--template-interval", type=float, default=5.0)
    p.add_argument(
        "--tip-poll-interval",
        type=float,
        default=0.5,
        help="seconds between asking the node for its tip (default 0.5)",
    )
    p.add_argument("--max-connections-per-ip", type=int, default=64)
    p.add_argument(
        "--message-rate",
        type=float,
        default=50.0,
        help="sustained messages per second a connection may send (default 50)",
    )
    add_log_arguments(p)
    p.set_defaults(handler=run, command_parser=p)


def build_config(args: argparse.Namespace) -> PoolConfig:
    from dataclasses import replace

    from consensus.params import network
    from pool.config import PoolConfig, parse_hostport
    from pool.errors import ConfigError
    from pool.rewards import fee_ppm_from_percent
    from pool.session import StratumSettings
    from pool.vardiff import VardiffConfig
    from pool.wire import MIN_DIFFICULTY

    params = network(args.network)
    datadir = (
        Path(args.datadir).expanduser()
        if args.datadir
        else Path.home() / ".seedchain" / params.name / "pool"
    )
    try:
        apply_conf_file(args, datadir / POOL_CONF_NAME, ENV_NAMES)
    except ConfFileError as exc:
        raise CommandError(str(exc)) from None
    if not args.node:
        raise CommandError("--node URL is required (the node's REST API)")
    if not args.operator:
        raise CommandError("--operator ADDRESS is required")
    try:
        vardiff = VardiffConfig(
            initial_difficulty=args.difficulty,
            min_difficulty=args.min_difficulty
            or max(MIN_DIFFICULTY, min(args.difficulty, MIN_DIFFICULTY * 2**16)),
            max_difficulty=args.max_difficulty or 2.0**30,
            target_interval=args.share_interval,
            retarget_time=3 * args.share_interval,
            enabled=not args.no_vardiff,
        )
        stratum = replace(
            StratumSettings(),
            vardiff=vardiff,
            max_connections_per_ip=args.max_connections_per_ip,
            message_rate=args.message_rate,
            message_burst=max(500.0, 10 * args.message_rate),
        )
        return PoolConfig(
            params=params,
            node_url=args.node,
            operator=args.operator,
            datadir=datadir,
            scheme=args.scheme,
            fee_ppm=fee_ppm_from_percent(args.fee),
            stratum_bind=parse_hostport(args.stratum_bind or "0.0.0.0", params.pool_port),
            api_bind=parse_hostport(args.api_bind or "127.0.0.1", params.pool_port + 1),
            pplns_n=args.pplns_n,
            dust=args.dust,
            prune_shares=args.prune_shares,
            template_interval=args.template_interval,
            tip_poll_interval=args.tip_poll_interval,
            stratum=stratum,
        )
    except (ConfigError, ValueError) as exc:
        raise CommandError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from node.logs import configure_logging
    from pool.errors import ConfigError
    from pool.service import Pool

    config = build_config(args)
    configure_logging(args.log_format, args.log_level)
    try:
        return run_service(Pool(config).run)
    except* ConfigError as group:
        raise CommandError(str(group.exceptions[0])) from None
