"""Frozen coins: Electrum's "freeze" (Core's ``lockunspent``), kept in ``wallet.json``.

May import ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``, ``pool``, ``mining``
or ``seedchain``). Pure: the caller reads and writes the metadata under the wallet's lock.

A frozen address freezes every coin it holds, now and later; a frozen outpoint (``txid:vout``)
one coin. Frozen coins stay in the balance (``frozen`` says how much) but no send, "send
everything" or fee bump spends them, until they are unfrozen. At most ``MAX_FROZEN`` entries.
"""

from __future__ import annotations

from dataclasses import replace

from consensus.addresses import address_to_lock
from consensus.errors import AddressError
from consensus.params import ChainParams
from consensus.transaction import OutPoint
from wallet.errors import InvalidInput, KeystoreCorrupt
from wallet.metadata import WalletMetadata, parse_outpoint
from wallet.parsing import canonical_address

MAX_FROZEN = 10_000


def freeze_key(target: str, params: ChainParams) -> str:
    """The canonical form of an address or an outpoint to freeze; ``InvalidAddress`` or
    ``InvalidInput`` otherwise."""
    text = target.strip()
    if ":" in text:
        try:
            outpoint = parse_outpoint(text.lower())
        except ValueError:
            outpoint = None
        if outpoint is None or len(outpoint.txid) != 32 or outpoint.vout > 0xFFFF_FFFF:
            raise InvalidInput(f"invalid outpoint {text[:100]!r}: expected TXID:VOUT")
        return str(outpoint)
    return canonical_address(text, params)


def with_frozen(meta: WalletMetadata, keys: list[str], frozen: bool) -> WalletMetadata:
    """``meta`` with ``keys`` (canonical) frozen or unfrozen."""
    current = dict.fromkeys(meta.frozen)
    for key in keys:
        if frozen:
            current[key] = None
        else:
            current.pop(key, None)
    if len(current) > MAX_FROZEN:
        raise InvalidInput(f"at most {MAX_FROZEN} addresses and coins can be frozen")
    return replace(meta, frozen=sorted(current))


def frozen_sets(frozen: list[str], params: ChainParams) -> tuple[set[bytes], set[OutPoint]]:
    """The frozen locks and outpoints of a wallet's ``frozen`` list."""
    locks: set[bytes] = set()
    outpoints: set[OutPoint] = set()
    for key in frozen:
        try:
            if ":" in key:
                outpoints.add(parse_outpoint(key))
            else:
                locks.add(address_to_lock(key, params.hrp))
        except (ValueError, AddressError):
            raise KeystoreCorrupt(f"wallet.json: invalid frozen entry {key[:100]!r}") from None
    return locks, outpoints
