"""``seedchain wallet sign-message`` and ``verify-message``: prove control of an address
(Core's ``signmessage`` / ``verifymessage``; the format is in ``wallet.messages``).

May import the standard library, ``consensus``, ``wallet`` (lazily) and the ``seedchain``
modules ``cli``, ``wallet_context`` and ``wallet_output``; never ``node``, ``p2p``, ``pool`` or
``mining``. Signing unlocks the wallet (the key must be one of its addresses); verifying needs
no wallet at all, only the network.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from seedchain.cli import CommandError
from seedchain.wallet_context import wallet_location, with_session
from seedchain.wallet_output import print_json

if TYPE_CHECKING:
    from wallet.engine import WalletSession


def cmd_sign_message(args: argparse.Namespace) -> int:
    from wallet.engine import parse_address
    from wallet.messages import message_digest, sign_message

    location = wallet_location(args)
    parse_address(args.address, location.params)  # bad input fails before the password
    message_digest(args.message, location.params.chain_id)  # and so does an oversized message

    async def body(session: WalletSession) -> str:
        key = session.key_for_address(args.address)
        if key is None:
            raise CommandError(f"address {args.address.strip()} is not one of this wallet's")
        return sign_message(key, args.message, session.params)

    signature = with_session(args, body, needs_node=False)
    if args.json:
        print_json({"address": args.address.strip(), "signature": signature})
    else:
        print(signature)
    return 0


def cmd_verify_message(args: argparse.Namespace) -> int:
    from wallet.messages import verify_message

    params = wallet_location(args).params
    valid = verify_message(args.address, args.signature, args.message, params)
    if args.json:
        print_json({"address": args.address.strip(), "valid": valid})
    elif valid:
        print("valid")
    if not valid and not args.json:
        raise CommandError(f"the signature does not verify for {args.address.strip()}")
    return 0 if valid else 1
