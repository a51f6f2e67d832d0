"""``seedchain wallet send``'s arguments, declared and checked before the password is asked:
the recipients (``ADDRESS AMOUNT`` pairs, ``max``, a payment URI, or ``@FILE``, a CSV file of
them) and which of them pay the fee (``--subtract-fee``, ``--subtract-fee-from ADDRESS``:
Bitcoin Core's ``subtractfeefromamount``).

May import the standard library, the ``seedchain`` modules ``cli``, ``textfile`` and
``wallet_output``, and ``wallet`` (lazily); never ``node``, ``p2p``, ``pool`` or ``mining``.
"""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from seedchain.cli import CommandError
from seedchain.textfile import TextFileError, read_text_file
from seedchain.wallet_output import format_coins

if TYPE_CHECKING:
    from wallet.payuri import PaymentRequest

__all__ = [
    "SEND_ALL",
    "SendRequest",
    "add_send_arguments",
    "send_request",
]

SEND_ALL = "max"
MAX_PAYMENTS_FILE = 1 << 20
"""``send @FILE``: the largest payments file read (1 MiB; a transaction's 100,000-byte limit
holds a few thousand payments)."""


@dataclass(frozen=True)
class SendRequest:
    """What ``send`` was asked: the payments, or (``max``) the one address to send everything
    to; the payment URI, if one was given; the payments (indexes) that pay the fee."""

    payments: list[tuple[str, int]]
    sweep_to: str | None
    request: PaymentRequest | None
    subtract_fee_from: tuple[int, ...]


def add_send_arguments(parser: argparse.ArgumentParser) -> None:
    """``send``'s recipients and fee-payer options."""
    parser.add_argument(
        "address",
        metavar="ADDRESS",
        help="an address, a seedchain: URI, or @FILE: a CSV file of ADDRESS,AMOUNT lines",
    )
    parser.add_argument(
        "amount",
        metavar="AMOUNT",
        nargs="?",
        help="coins, e.g. 12.5 (at most 8 decimals), or 'max'; optional after a URI with one",
    )
    parser.add_argument(
        "more", nargs="*", metavar="ADDRESS AMOUNT", help="further recipients, in pairs"
    )
    parser.add_argument(
        "--subtract-fee",
        action="store_true",
        help="the recipients pay the fee, split equally: each gets less than AMOUNT",
    )
    parser.add_argument(
        "--subtract-fee-from",
        action="append",
        metavar="ADDRESS",
        help="this recipient pays the fee (repeatable: those named split it)",
    )


def send_request(args: argparse.Namespace, params: Any) -> SendRequest:
    """``send``'s positional arguments and fee-payer options, checked."""
    if args.address.startswith("@"):
        if args.amount is not None or args.more:
            raise CommandError("@FILE names every recipient: give nothing after it")
        payments = _payments_file(args.address[1:], args.password_file, params)
        return SendRequest(payments, None, None, _fee_payers(args, payments, params))
    request = _payment_request(args, params)
    if request is not None:
        assert request.amount is not None
        payments, sweep_to = [(request.address, request.amount)], None
    else:
        payments, sweep_to = _recipients(args, params)
    return SendRequest(payments, sweep_to, request, _fee_payers(args, payments, params))


def _payments_file(path: str, password_file: str | None, params: Any) -> list[tuple[str, int]]:
    """``send @FILE`` (Electrum's "pay to many" from a CSV file): one ``ADDRESS,AMOUNT`` per
    line (AMOUNT in coins; blank lines, ``#`` comments and an ``address,amount`` header are
    skipped), at most ``MAX_PAYMENTS_FILE`` bytes; ``@-`` reads standard input."""
    from wallet.amounts import parse_amount
    from wallet.engine import parse_address
    from wallet.errors import WalletError

    if path == "-" and password_file == "-":
        raise CommandError("@- and --password-file - cannot both read standard input")
    try:
        text = read_text_file(path, MAX_PAYMENTS_FILE)
    except TextFileError as error:
        raise CommandError(f"payments file {path[:200]}: {error}") from None
    payments = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        fields = [field.strip() for field in row]
        if not any(fields) or fields[0].startswith("#"):
            continue
        if number == 1 and [f.lower() for f in fields] == ["address", "amount"]:
            continue
        if len(fields) != 2:
            raise CommandError(f"payments file line {number}: expected ADDRESS,AMOUNT")
        address, amount = fields
        try:
            parse_address(address, params)
            payments.append((address, parse_amount(amount)))
        except WalletError as error:
            raise CommandError(f"payments file line {number}: {error}") from None
    if not payments:
        raise CommandError(f"payments file {path[:200]} names no recipient")
    return payments


def _recipients(args: argparse.Namespace, params: Any) -> tuple[list[tuple[str, int]], str | None]:
    """``send ADDRESS AMOUNT [ADDRESS AMOUNT ...]``: the payments, or (``AMOUNT`` ``max``) no
    payments and the one address to send everything to."""
    from wallet.amounts import parse_amount
    from wallet.engine import parse_address

    if args.amount is None:
        raise CommandError("give AMOUNT after ADDRESS (coins, or 'max')")
    words = [args.address, args.amount, *args.more]
    if len(words) % 2:
        raise CommandError(
            f"recipient {words[-1][:100]!r} has no amount: give ADDRESS AMOUNT pairs"
        )
    pairs = list(zip(words[0::2], words[1::2], strict=True))
    for address, _ in pairs:
        parse_address(address, params)
    if any(amount.strip().lower() == SEND_ALL for _, amount in pairs):
        if len(pairs) > 1:
            raise CommandError(f"amount {SEND_ALL!r} sends everything to one address only")
        return [], args.address
    return [(address, parse_amount(amount)) for address, amount in pairs], None


def _payment_request(args: argparse.Namespace, params: Any) -> PaymentRequest | None:
    """``send URI [AMOUNT]``: the request, its amount settled (the URI's, or AMOUNT when the URI
    names none; both must agree); None for a plain ``send ADDRESS AMOUNT``."""
    from wallet.amounts import parse_amount
    from wallet.payuri import is_uri, parse_uri

    if not is_uri(args.address):
        return None
    if args.more:
        raise CommandError("a payment URI pays one recipient: send URI [AMOUNT]")
    request = parse_uri(args.address, params)
    given = None
    if args.amount is not None:
        if args.amount.strip().lower() == SEND_ALL:
            raise CommandError(f"{SEND_ALL!r} does not go with a payment URI")
        given = parse_amount(args.amount)
    if request.amount is not None and given is not None and given != request.amount:
        raise CommandError(
            f"the URI asks for {format_coins(request.amount)}, AMOUNT says {format_coins(given)}"
        )
    amount = request.amount if request.amount is not None else given
    if amount is None:
        raise CommandError("the URI names no amount: give AMOUNT after it")
    return replace(request, amount=amount)


def _fee_payers(
    args: argparse.Namespace, payments: list[tuple[str, int]], params: Any
) -> tuple[int, ...]:
    """The indexes of the payments that pay the fee: none, every one (``--subtract-fee``), or
    those ``--subtract-fee-from`` names (each must be a recipient)."""
    from wallet.engine import parse_address

    named = args.subtract_fee_from or []
    if not args.subtract_fee and not named:
        return ()
    if not payments:
        raise CommandError(f"{SEND_ALL!r} already takes the fee from the amount")
    if args.subtract_fee and named:
        raise CommandError("give --subtract-fee (every recipient) or --subtract-fee-from, not both")
    if args.subtract_fee:
        return tuple(range(len(payments)))
    locks = [parse_address(address, params) for address, _ in payments]
    indexes: list[int] = []
    for address in named:
        lock = parse_address(address, params)
        if lock not in locks:
            raise CommandError(f"--subtract-fee-from {address.strip()[:100]}: not a recipient")
        if locks.index(lock) not in indexes:
            indexes.append(locks.index(lock))
    return tuple(indexes)
