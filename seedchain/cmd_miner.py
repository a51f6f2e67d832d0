"""``seedchain miner``: a Stratum v1 miner using the fast proof-of-work engine."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from seedchain.cli import CommandError
from seedchain.runner import env, run_service


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("miner", help="mine on a Stratum v1 pool until SIGINT/SIGTERM")
    p.add_argument("--url", default=env("MINER_URL"), help="stratum+tcp://HOST:PORT")
    p.add_argument("--user", default=env("MINER_USER"), help="payout ADDRESS[.WORKER]")
    p.add_argument("--password", default=env("MINER_PASSWORD", "x"))
    p.add_argument(
        "--threads",
        type=int,
        default=env("MINER_THREADS", "0"),
        help="worker threads (default: every CPU)",
    )
    p.add_argument("--backend", default=None, help="native, hashlib or native:<variant>")
    p.add_argument("--suggest-difficulty", type=float, default=None)
    p.add_argument("--stats-interval", type=float, default=10.0)
    p.add_argument(
        "--log-format", default=env("LOG_FORMAT", "auto"), choices=["auto", "console", "json"]
    )
    p.set_defaults(handler=run)


def parse_stratum_url(url: str) -> tuple[str, int]:
    """``stratum+tcp://HOST:PORT`` (or ``tcp://``, or plain ``HOST:PORT``) -> (host, port)."""
    text = url if "://" in url else f"stratum+tcp://{url}"
    parts = urlsplit(text)
    if parts.scheme not in ("stratum+tcp", "stratum", "tcp"):
        raise CommandError(f"--url: unsupported scheme {parts.scheme!r}, use stratum+tcp://")
    try:
        port = parts.port
    except ValueError:
        raise CommandError(f"--url: bad port in {url!r}") from None
    if not parts.hostname or port is None:
        raise CommandError(f"--url: expected stratum+tcp://HOST:PORT, got {url!r}")
    return parts.hostname, port


def run(args: argparse.Namespace) -> int:
    import os

    from consensus.nonce_search import PowBackendError
    from node.logs import configure_logging
    from pool.client import StratumMiner

    if not args.url or not args.user:
        raise CommandError("--url and --user are required")
    host, port = parse_stratum_url(args.url)
    threads = args.threads or os.cpu_count() or 1
    if not 1 <= threads <= 1024:
        raise CommandError("--threads must be between 1 and 1024")
    configure_logging(args.log_format)
    try:
        miner = StratumMiner(
            host,
            port,
            args.user,
            args.password,
            threads=threads,
            backend=args.backend,
            stats_interval=args.stats_interval,
            suggest_difficulty=args.suggest_difficulty,
        )
    except (PowBackendError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    return run_service(miner.run)
