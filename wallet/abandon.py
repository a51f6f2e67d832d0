"""Forgetting a send the node no longer has: Bitcoin Core's ``abandontransaction``.

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``).

A pending send whose transaction left the node's mempool (evicted from a full mempool, expired)
is broadcast again by each wallet command; if the node refuses it only for now (``mempool_full``,
``min_fee_not_met``, ...) it stays pending and keeps its coins reserved. ``abandon`` releases
them: the send, and our pending sends that spend its outputs, are forgotten. Only a *dropped*
send can be abandoned: one the node still has may confirm (replace it with ``bump`` or
``cancel`` instead), and a confirmed one is final. As in Core, a copy elsewhere may still
confirm; the wallet then sees it in the chain like any transaction of ours.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from consensus.hashing import hash_to_hex
from consensus.transaction import OutPoint
from wallet.errors import WalletError
from wallet.history import CONFIRMED, DROPPED, UNCONFIRMED

if TYPE_CHECKING:
    from wallet.session import WalletSession


class CannotAbandon(WalletError):
    """The send is not one this wallet may forget (unknown, still in the mempool, confirmed)."""


@dataclass(frozen=True)
class AbandonResult:
    abandoned: tuple[bytes, ...]  # the send and our pending sends that spent its outputs
    released: tuple[OutPoint, ...]  # coins no longer reserved

    def to_json(self) -> dict[str, object]:
        return {
            "abandoned": [hash_to_hex(txid) for txid in self.abandoned],
            "released": [str(outpoint) for outpoint in self.released],
        }


async def abandon_send(session: WalletSession, txid: bytes) -> AbandonResult:
    """Forget our dropped pending send ``txid`` and its pending descendants (module docstring);
    :class:`CannotAbandon` otherwise, with nothing changed."""
    view = await session.sync(rebroadcast=False)
    meta = session.reconciled()
    shown = hash_to_hex(txid)
    state = view.sends.get(txid)
    if state is not None and state.status == CONFIRMED:
        raise CannotAbandon(f"transaction {shown} is confirmed: it cannot be abandoned")
    if state is None or txid not in {p.txid for p in meta.pending}:
        raise CannotAbandon(f"no pending send {shown} in this wallet")
    if state.status == UNCONFIRMED:
        raise CannotAbandon(
            f"transaction {shown} is in the node's mempool and may still confirm; replace it"
            " with `bump` or `cancel` instead"
        )
    assert state.status == DROPPED
    doomed = {txid}
    grew = True
    while grew:  # our pending sends that spend a doomed send's outputs go too
        grew = False
        for send in meta.pending:
            if send.txid not in doomed and any(op.txid in doomed for op in send.inputs):
                doomed.add(send.txid)
                grew = True
    gone = [p for p in meta.pending if p.txid in doomed]
    session.save(replace(meta, pending=[p for p in meta.pending if p.txid not in doomed]))
    released = tuple(op for send in gone for op in send.inputs if op.txid not in doomed)
    return AbandonResult(tuple(send.txid for send in gone), released)
