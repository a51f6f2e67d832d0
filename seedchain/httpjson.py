"""What the commands that talk to a node's API share (``status``, ``stop``, ``audit``): the
``--node`` / ``--network`` options and their URL, and a JSON GET with a size limit, typed
one-line errors and an optional 404.

May import the standard library, aiohttp, ``consensus`` and ``wallet.client`` (lazily), and
``seedchain.cli`` / ``seedchain.runner``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from seedchain.cli import CommandError
from seedchain.runner import env

if TYPE_CHECKING:
    import argparse

    import aiohttp

MAX_RESPONSE = 16 * 1024 * 1024


async def get_json(
    session: aiohttp.ClientSession,
    url: str,
    *,
    missing_ok: bool = False,
    accept: frozenset[int] = frozenset({200}),
) -> Any:
    """The JSON ``url`` answers; None for a 404 when ``missing_ok`` or a status in ``accept``
    other than 200. :class:`CommandError` for an unreachable server, another status, a body
    over ``MAX_RESPONSE`` bytes or one that is not JSON."""
    import aiohttp

    try:
        async with session.get(url) as response:
            body = await response.content.read(MAX_RESPONSE + 1)
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise CommandError(f"cannot reach {url}: {exc or type(exc).__name__}") from None
    if (status == 404 and missing_ok) or (status != 200 and status in accept):
        return None
    if status != 200:
        raise CommandError(f"{url} answered {status}")
    if len(body) > MAX_RESPONSE:
        raise CommandError(f"{url} answered more than {MAX_RESPONSE} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise CommandError(f"{url} did not answer JSON") from None


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    """``--node URL`` (``SEEDCHAIN_NODE``) and ``--network`` (which picks the default port)."""
    parser.add_argument(
        "--node", default=env("NODE"), help="the node's REST API (default http://127.0.0.1:<api>)"
    )
    parser.add_argument(
        "--network", default=env("NETWORK", "main"), choices=["main", "test", "regtest"]
    )


def node_url(args: argparse.Namespace) -> str:
    """The node's API URL from ``--node``, else the network's default; one-line errors."""
    from consensus.params import network
    from wallet.client import check_node_url, default_node_url
    from wallet.errors import InvalidInput

    try:
        return check_node_url(args.node) if args.node else default_node_url(network(args.network))
    except InvalidInput as exc:
        raise CommandError(str(exc)) from None
