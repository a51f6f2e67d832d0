"""``seedchain wallet send``'s arguments, checked before any password or node: recipients from
a CSV file (``@FILE``), and which recipients pay the fee (``--subtract-fee[-from]``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus.params import REGTEST
from consensus.transaction import COIN
from seedchain.cli import CommandError, build_parser
from seedchain.wallet_send_args import MAX_PAYMENTS_FILE, SendRequest, send_request
from tests.framework.factory import Key

BOB = Key.from_index(5).address()
CAROL = Key.from_index(6).address()


def parsed(*argv: str) -> SendRequest:
    args = build_parser().parse_args(["wallet", "--network", "regtest", "send", *argv])
    return send_request(args, REGTEST)


def test_a_payments_file_pays_every_line(tmp_path: Path) -> None:
    path = tmp_path / "pay.csv"
    path.write_text(f'Address,Amount\n{BOB}, 1.5\n\n# the second\n"{CAROL}",0.25\n')
    request = parsed(f"@{path}", "--subtract-fee-from", CAROL)
    assert request.payments == [(BOB, 150_000_000), (CAROL, 25_000_000)]
    assert request.sweep_to is None and request.request is None
    assert request.subtract_fee_from == (1,)
    assert parsed(f"@{path}", "--subtract-fee").subtract_fee_from == (0, 1)


def test_payments_file_refusals(tmp_path: Path) -> None:
    path = tmp_path / "pay.csv"
    cases = [
        (f"{BOB},1\n{BOB}\n", "line 2: expected ADDRESS,AMOUNT"),
        (f"{BOB},1,2\n", "line 1: expected ADDRESS,AMOUNT"),
        (f"{BOB[:-1]}x,1\n", "line 1: invalid address"),
        (f"{BOB},max\n", "line 1"),
        (f"{BOB},1.123456789\n", "line 1"),
        ("# nothing\n\n", "names no recipient"),
    ]
    for text, fragment in cases:
        path.write_text(text)
        with pytest.raises(CommandError, match=fragment):
            parsed(f"@{path}")
    path.write_bytes(b"x" * (MAX_PAYMENTS_FILE + 1))
    with pytest.raises(CommandError, match="larger than"):
        parsed(f"@{path}")
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(CommandError, match="not UTF-8"):
        parsed(f"@{path}")
    with pytest.raises(CommandError, match="cannot be read"):
        parsed(f"@{tmp_path / 'absent.csv'}")
    path.write_text(f"{BOB},1\n")
    with pytest.raises(CommandError, match="give nothing after it"):
        parsed(f"@{path}", "1")
    with pytest.raises(CommandError, match="cannot both read standard input"):
        parsed("@-", "--password-file", "-")


def test_fee_payers_are_checked() -> None:
    assert parsed(BOB, "1").subtract_fee_from == ()
    assert parsed(BOB, "1", CAROL, "2", "--subtract-fee").subtract_fee_from == (0, 1)
    both = parsed(BOB, "1", CAROL, "2", "--subtract-fee-from", CAROL, "--subtract-fee-from", CAROL)
    assert both.subtract_fee_from == (1,)  # named twice, pays once
    assert parsed(BOB, "1", "--subtract-fee").payments == [(BOB, COIN)]
    refusals = [
        ((BOB, "max", "--subtract-fee"), "already takes the fee"),
        ((BOB, "1", "--subtract-fee-from", CAROL), "not a recipient"),
        ((BOB, "1", "--subtract-fee", "--subtract-fee-from", BOB), "not both"),
    ]
    for argv, fragment in refusals:
        with pytest.raises(CommandError, match=fragment):
            parsed(*argv)
