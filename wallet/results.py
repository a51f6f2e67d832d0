"""What a send or a fee bump did: the results :mod:`wallet.sending` returns and the CLI prints.

May import the standard library and ``consensus``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consensus.hashing import hash_to_hex
from consensus.transaction import OutPoint


@dataclass(frozen=True)
class SendResult:
    txid: bytes
    payments: tuple[tuple[str, int], ...]  # (address, units) per recipient: what each gets
    fee: int
    fee_rate: int
    size: int
    change: int | None
    inputs: tuple[OutPoint, ...]
    sent_all: bool = False  # every spendable coin, the fee taken from the one payment
    raw: bytes | None = None  # the signed transaction, for a dry run (nothing was sent)
    verdict: dict[str, Any] | None = None  # a dry run: the node's POST /v1/tx/test answer
    unsigned_file: bytes | None = None  # --unsigned: the transaction file (wallet.offline)
    fee_from_amount: bool = False  # the recipients paid the fee (sent_all, or subtract_fee_from)

    @property
    def dry_run(self) -> bool:
        return self.raw is not None

    @property
    def amount(self) -> int:
        """What the recipients get, in units."""
        return sum(amount for _, amount in self.payments)

    @property
    def address(self) -> str | None:
        """The recipient, when there is one; None for a payment to several."""
        return self.payments[0][0] if len(self.payments) == 1 else None

    def to_json(self) -> dict[str, object]:
        return {
            "txid": hash_to_hex(self.txid),
            "amount": self.amount,
            "address": self.address,
            "payments": [{"address": a, "amount": v} for a, v in self.payments],
            "sent_all": self.sent_all,
            "fee_from_amount": self.fee_from_amount,
            "fee": self.fee,
            "fee_rate": self.fee_rate,
            "size": self.size,
            "change": self.change,
            "inputs": [str(outpoint) for outpoint in self.inputs],
            "unsigned": self.unsigned_file is not None,
            **self._dry_run_json(),
        }

    def _dry_run_json(self) -> dict[str, object]:
        if self.raw is None or self.verdict is None:
            return {"dry_run": False}
        return {
            "dry_run": True,
            "hex": self.raw.hex(),
            "allowed": self.verdict["allowed"],
            "reject_reason": self.verdict.get("reject_reason"),
        }


@dataclass(frozen=True)
class BumpResult:
    txid: bytes
    replaces: bytes
    fee: int
    old_fee: int
    fee_rate: int
    size: int
    unsigned_file: bytes | None = None  # --unsigned: the replacement's transaction file

    def to_json(self) -> dict[str, object]:
        return {
            "txid": hash_to_hex(self.txid),
            "replaces": hash_to_hex(self.replaces),
            "fee": self.fee,
            "old_fee": self.old_fee,
            "fee_rate": self.fee_rate,
            "size": self.size,
            "unsigned": self.unsigned_file is not None,
        }
