"""``seedchain stop``: stop a running node cleanly and wait until it has (``bitcoin-cli stop``).

    seedchain stop [--node URL] [--network N] [--datadir DIR] [--wait SECONDS]

Reads the admin token from ``<datadir>/api.cookie``, asks the node to stop (admin
``POST /v1/stop``: the same clean path as SIGTERM) and waits until its API no longer answers.
Exit 0 once stopped; 1 with one line when the node cannot be reached, refuses the token, or is
still up after ``--wait`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from seedchain.cli import CommandError
from seedchain.httpjson import add_node_arguments, node_url
from seedchain.runner import env

POLL_SECONDS = 0.2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "stop", help="stop a running node cleanly and wait", description=__doc__.splitlines()[0]
    )
    add_node_arguments(p)
    p.add_argument("--datadir", default=env("DATADIR"), help="default ~/.seedchain/<network>")
    p.add_argument("--wait", type=float, default=120.0, help="seconds to wait (default 120)")
    p.set_defaults(handler=run)


async def stop_node(url: str, token: str, wait: float) -> None:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            async with session.post(
                f"{url}/v1/stop", headers={"Authorization": f"Bearer {token}"}
            ) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CommandError(f"cannot reach the node at {url}: {exc or 'timeout'}") from None
        if status in (401, 403):
            raise CommandError(f"the node at {url} refused the token of api.cookie ({status})")
        if status != 200:
            raise CommandError(f"the node at {url} answered {status} to /v1/stop")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{url}/healthz") as response:
                    await response.read()
            except (aiohttp.ClientError, TimeoutError):
                return  # the API is gone: the node has stopped
            await asyncio.sleep(POLL_SECONDS)
    raise CommandError(f"the node at {url} is still answering after {wait:g} s")


def run(args: argparse.Namespace) -> int:
    from consensus.params import network
    from node.api.guard import COOKIE_FILE, read_cookie
    from node.config import default_datadir

    url = node_url(args)
    params = network(args.network)
    datadir = Path(args.datadir).expanduser() if args.datadir else default_datadir(params)
    try:
        token = read_cookie(datadir)
    except OSError as exc:
        raise CommandError(
            f"{datadir / COOKIE_FILE} cannot be read: {exc.strerror or exc}: is the node running"
            " with this --datadir?"
        ) from None
    asyncio.run(stop_node(url, token, args.wait))
    print(f"stopped: the node at {url}")
    return 0
