"""``seedchain wallet freeze`` and ``unfreeze``: coins that sends never spend (Electrum's
freeze, Core's ``lockunspent``; the rules are in ``wallet.freezing``); ``abandon``: forget a
dropped send and release its coins (Core's ``abandontransaction``; ``wallet.abandon``).

May import the standard library, ``consensus``, ``wallet`` (lazily) and the ``seedchain``
modules ``cli``, ``wallet_context`` and ``wallet_output``; never ``node``, ``p2p``, ``pool`` or
``mining``. The frozen list lives in ``wallet.json``: no password, only the wallet's lock.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from consensus.hashing import hash_to_hex
from seedchain.cli import CommandError
from seedchain.wallet_context import txid_argument, update_metadata, wallet_location, with_session
from seedchain.wallet_output import print_json, print_pairs

if TYPE_CHECKING:
    from wallet.abandon import AbandonResult
    from wallet.engine import WalletSession


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    freeze = commands.add_parser(
        "freeze",
        parents=[common],
        help="never spend the coins of these addresses or outpoints (none given: list them)",
    )
    freeze.add_argument("targets", nargs="*", metavar="ADDRESS|TXID:VOUT")
    freeze.set_defaults(wallet_handler=cmd_freeze)
    unfreeze = commands.add_parser("unfreeze", parents=[common], help="let sends spend these again")
    unfreeze.add_argument("targets", nargs="*", metavar="ADDRESS|TXID:VOUT")
    unfreeze.set_defaults(wallet_handler=cmd_unfreeze)
    abandon = commands.add_parser(
        "abandon",
        parents=[common],
        help="forget a send the node no longer has and release its coins (Core's"
        " abandontransaction)",
    )
    abandon.add_argument("txid", metavar="TXID")
    abandon.set_defaults(wallet_handler=cmd_abandon)


def cmd_abandon(args: argparse.Namespace) -> int:
    txid = txid_argument(args)

    async def body(session: WalletSession) -> AbandonResult:
        return await session.abandon(txid)

    result = with_session(args, body)
    if args.json:
        print_json(result.to_json())
        return 0
    print_pairs(
        [
            *[("abandoned", hash_to_hex(txid)) for txid in result.abandoned],
            *[("released", str(outpoint)) for outpoint in result.released],
        ]
    )
    return 0


def cmd_freeze(args: argparse.Namespace) -> int:
    return _change(args, frozen=True)


def cmd_unfreeze(args: argparse.Namespace) -> int:
    if not args.targets:
        raise CommandError("name at least one ADDRESS or TXID:VOUT to unfreeze")
    return _change(args, frozen=False)


def _change(args: argparse.Namespace, *, frozen: bool) -> int:
    from wallet.engine import check_wallet, read_metadata
    from wallet.freezing import freeze_key, with_frozen

    location = wallet_location(args)
    check_wallet(location)
    keys = [freeze_key(target, location.params) for target in args.targets]
    if keys:
        meta = update_metadata(location, lambda old: with_frozen(old, keys, frozen))
    else:  # `freeze` alone: the list
        meta = read_metadata(location)[0]
    if args.json:
        print_json({"frozen": meta.frozen})
    elif meta.frozen:
        print("\n".join(meta.frozen))
    else:
        print("nothing is frozen")
    return 0
