"""``seedchain wallet``: what every command needs around the engine — where the wallet is, which
node to ask, an event loop, and an unlocked :class:`wallet.engine.WalletSession` used under
the wallet's inter-process lock for the whole command.

May import the standard library, ``consensus``, ``wallet`` (lazily, so that ``seedchain`` starts
without aiohttp) and ``seedchain.wallet_secrets``; never ``node``, ``p2p``, ``pool`` or
``mining``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from seedchain.cli import CommandError
from seedchain.wallet_secrets import read_password

if TYPE_CHECKING:
    from wallet.client import NodeClient
    from wallet.engine import WalletLocation, WalletSession
    from wallet.history import WalletView
    from wallet.metadata import WalletMetadata

T = TypeVar("T")


def wallet_location(args: argparse.Namespace) -> WalletLocation:
    from consensus.params import network
    from wallet.engine import WalletLocation

    params = network(args.network)
    datadir = (
        Path(args.datadir).expanduser()
        if args.datadir
        else Path.home() / ".seedchain" / params.name
    )
    return WalletLocation(datadir, args.wallet, params)


def resolve_node_url(args: argparse.Namespace) -> str:
    from consensus.params import network
    from wallet.client import check_node_url, default_node_url

    return check_node_url(args.node) if args.node else default_node_url(network(args.network))


def node_client(args: argparse.Namespace, **kwargs: Any) -> NodeClient:
    from wallet.client import NodeClient

    return NodeClient(resolve_node_url(args), **kwargs)


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return asyncio.run(main())


@contextlib.contextmanager
def locked(location: WalletLocation) -> Iterator[None]:
    from wallet.engine import check_exists
    from wallet.fileio import exclusive_lock

    paths = check_exists(location)
    with exclusive_lock(paths.lock):
        yield


def update_metadata(
    location: WalletLocation, change: Callable[[WalletMetadata], WalletMetadata]
) -> WalletMetadata:
    """Read ``wallet.json``, apply ``change``, write it back atomically, all under the
    wallet's lock (``label``, ``freeze``: metadata only, no password); the new metadata."""
    from wallet.engine import read_metadata
    from wallet.metadata import save_metadata

    with locked(location):
        updated = change(read_metadata(location)[0])
        save_metadata(location.paths.metadata, updated)
    return updated


def with_session(
    args: argparse.Namespace,
    body: Callable[[WalletSession], Awaitable[T]],
    *,
    needs_node: bool = True,
) -> T:
    """Read the password, take the wallet's lock, unlock it, run ``body`` with a node client
    (a watch-only wallet: no password, :meth:`WalletSession.open_watch`)."""
    from wallet.engine import WalletSession, check_exists, check_wallet
    from wallet.sync import NodeApi

    location = wallet_location(args)
    # a missing wallet or a network mismatch before any prompt; a watch-only one has no password
    watch_only = check_wallet(location) is None
    password = "" if watch_only else read_password(args)
    node_url = resolve_node_url(args) if needs_node else None
    with locked(location):
        check_exists(location)

        def session(node: NodeApi | None) -> WalletSession:
            if watch_only:
                return WalletSession.open_watch(location, node)
            return WalletSession.open(location, password, node)

        async def main() -> T:
            from wallet.client import NodeClient

            if node_url is None:
                return await body(session(None))
            async with NodeClient(node_url) as node:
                return await body(session(node))

        return run_async(main)


async def synced(session: WalletSession) -> WalletView:
    view = await session.sync()
    session.save_reconciled()
    return view


async def synced_with_labels(session: WalletSession) -> tuple[WalletView, dict[str, str]]:
    """:func:`synced`, and the labels of the metadata the session already read."""
    return await synced(session), dict(session.metadata.labels)


def txid_argument(args: argparse.Namespace) -> bytes:
    """``args.txid`` (64 hex digits, display order) as a txid; a one-line error otherwise."""
    from consensus.hashing import hex_to_hash

    text = args.txid.strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise CommandError(f"invalid txid {args.txid[:80]!r}: expected 64 hex digits")
    return hex_to_hash(text)


def fee_rate_option(args: argparse.Namespace) -> int | None:
    from wallet.engine import parse_fee_rate

    return None if args.fee_rate is None else parse_fee_rate(str(args.fee_rate))
