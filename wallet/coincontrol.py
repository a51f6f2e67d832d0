"""Coin control: a send that may spend only the coins the user names (Electrum's "Spend" from
the Coins tab, Core's ``send`` with ``inputs``), by outpoint (``txid:vout``) or by address (its
coins).

May import ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``, ``pool``, ``mining``
or ``seedchain``); no I/O. Coin selection then chooses among the named coins only (all of them
for "send everything"), so a named coin that cannot be spent now is an error, not a silent
omission.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from consensus.addresses import address_to_lock
from consensus.params import ChainParams
from consensus.transaction import OutPoint
from wallet.errors import InvalidInput
from wallet.freezing import freeze_key, frozen_sets
from wallet.history import WalletCoin, WalletView

MAX_NAMED = 1_000


@dataclass(frozen=True)
class CoinChoice:
    """The coins a send may spend: those at ``outpoints`` and those held by ``locks``."""

    outpoints: frozenset[OutPoint]
    locks: dict[bytes, str]  # lock -> the address named


def parse_choice(targets: Sequence[str], params: ChainParams) -> CoinChoice | None:
    """``--from`` arguments (addresses and ``txid:vout``) -> a :class:`CoinChoice`; None for
    none. ``InvalidInput`` / ``InvalidAddress`` for a malformed one."""
    if not targets:
        return None
    if len(targets) > MAX_NAMED:
        raise InvalidInput(f"at most {MAX_NAMED} coins or addresses can be named")
    names = list(dict.fromkeys(freeze_key(target, params) for target in targets))
    _locks, outpoints = frozen_sets(names, params)
    locks = {address_to_lock(name, params.hrp): name for name in names if ":" not in name}
    return CoinChoice(frozenset(outpoints), locks)


def _why_not(coin: WalletCoin) -> str | None:
    if coin.frozen:
        return "is frozen (wallet unfreeze it first)"
    if coin.reserved:
        return "is already spent by a pending send of ours"
    if not coin.mature:
        return "is a coinbase output not mature yet"
    if not coin.trusted:
        return "is unconfirmed and was not sent by this wallet"
    return None


def chosen_coins(view: WalletView, choice: CoinChoice) -> list[WalletCoin]:
    """The coins of ``view`` that ``choice`` names, all spendable now; ``InvalidInput`` naming
    the first outpoint that is not an unspent coin of ours or cannot be spent, or an address
    without a coin to spend."""
    chosen: dict[OutPoint, WalletCoin] = {}
    for outpoint in sorted(choice.outpoints, key=str):
        coin = view.coin(outpoint)
        if coin is None:
            raise InvalidInput(f"coin {outpoint} is not an unspent coin of this wallet")
        reason = _why_not(coin)
        if reason is not None:
            raise InvalidInput(f"coin {outpoint} {reason}")
        chosen[outpoint] = coin
    for lock, name in choice.locks.items():
        held = [coin for coin in view.coins if coin.lock == lock]
        spendable = [coin for coin in held if coin.spendable]
        if not spendable:
            detail = "" if not held else f": its coin {held[0].outpoint} {_why_not(held[0])}"
            raise InvalidInput(f"address {name} has no coin to spend now{detail}")
        for coin in spendable:
            chosen[coin.outpoint] = coin
    return list(chosen.values())

