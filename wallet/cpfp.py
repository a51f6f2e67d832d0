"""Child pays for parent: speed up an unconfirmed transaction that pays us (Electrum's CPFP)
by spending our outputs of it, with a fee high enough for both.

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``). Used under the wallet's lock through
:meth:`wallet.session.WalletSession.cpfp`. The child spends every one of our outputs of the
parent that is unspent, not reserved by a pending send and not frozen (even though a payment
from outside is "untrusted" until it confirms: that is the point), to a fresh change key; it
is recorded like any send of ours (its coins reserved, the change index advanced) before it
is broadcast, and can itself be bumped later. Only the parent's own fee is counted: a parent
with unconfirmed ancestors of its own needs a higher rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from consensus.hashing import hash_to_hex
from wallet.coinselect import SpendableCoin
from wallet.errors import FeeBumpError, InvalidFeeBumpTarget
from wallet.sending import draft, rate_or_estimate, record_pending, send_locktime
from wallet.txbuild import build_cpfp

if TYPE_CHECKING:
    from wallet.session import WalletSession


@dataclass(frozen=True)
class CpfpResult:
    txid: bytes
    parent: bytes
    fee: int
    size: int
    package_fee_rate: float
    value: int
    unsigned_file: bytes | None = None  # --unsigned: the child's transaction file

    def to_json(self) -> dict[str, object]:
        return {
            "txid": hash_to_hex(self.txid),
            "parent": hash_to_hex(self.parent),
            "fee": self.fee,
            "size": self.size,
            "package_fee_rate": round(self.package_fee_rate, 3),
            "value": self.value,
            "unsigned": self.unsigned_file is not None,
        }


async def child_pays_for_parent(
    session: WalletSession,
    parent_txid: bytes,
    fee_rate: int | None = None,
    *,
    unsigned: bool = False,
) -> CpfpResult:
    """Broadcast a child of ``parent_txid`` that lifts the pair to ``fee_rate`` units/byte
    (default: the node's estimate, and at least one unit per byte above the parent's); with
    ``unsigned``, only return its transaction file (``wallet.offline``), saving the change
    index it takes."""
    view = await session.sync()
    meta = session.reconciled()
    shown = hash_to_hex(parent_txid)
    parent = view.txs.get(parent_txid)
    if parent is None:
        raise InvalidFeeBumpTarget(f"transaction {shown} does not touch this wallet")
    if parent.confirmed:
        raise InvalidFeeBumpTarget(f"transaction {shown} is already confirmed")
    if parent.fee is None:
        raise FeeBumpError(f"the node did not say what {shown} pays; it cannot be helped")
    coins = [
        SpendableCoin(c.outpoint, c.value, c.lock, c.key_id)
        for c in view.coins
        if c.outpoint.txid == parent_txid and c.mature and not c.reserved and not c.frozen
    ]
    if not coins:
        raise FeeBumpError(
            f"no output of {shown} is ours to spend (none pays us, or they are spent,"
            " reserved by a pending send or frozen)"
        )
    rate = await rate_or_estimate(session, fee_rate, parent.fee // parent.size + 1)
    built = build_cpfp(
        session.keychain,
        coins,
        parent.fee,
        parent.size,
        rate,
        meta.next_change,
        session.params.chain_id,
        send_locktime(session),
    )
    document = None
    if unsigned:
        document = draft(session, meta, built, 1, sweep=True)
    else:  # the same bookkeeping as a send; its one output pays a later bump, as a sweep's
        await record_pending(session, meta, built, sweep=True)
    package = (parent.fee + built.fee) / (parent.size + built.tx.size)
    value = built.tx.outputs[0].value
    return CpfpResult(
        built.tx.txid, parent_txid, built.fee, built.tx.size, package, value, document
    )

