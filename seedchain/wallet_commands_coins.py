"""``seedchain wallet freeze`` and ``unfreeze``: coins that sends never spend (Electrum's
freeze, Core's ``lockunspent``; the rules are in ``wallet.freezing``).

May import the standard library, ``consensus``, ``wallet`` (lazily) and the ``seedchain``
modules ``cli``, ``wallet_context`` and ``wallet_output``; never ``node``, ``p2p``, ``pool`` or
``mining``. The list lives in ``wallet.json``: no password, only the wallet's lock.
"""

from __future__ import annotations

import argparse

from seedchain.cli import CommandError
from seedchain.wallet_context import update_metadata, wallet_location
from seedchain.wallet_output import print_json


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
