"""Labels: the user's own words for an address or a transaction, kept in ``wallet.json``.

May import ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``, ``pool``, ``mining``
or ``seedchain``). Pure: the caller reads and writes the metadata under the wallet's lock.

A label belongs to an address of the wallet's network (any address: a payee's, as in an
address book, or one of ours) or to a txid; it is at most ``MAX_LABEL_CHARS`` characters of
printable text (no control characters, which a terminal would obey), and a wallet holds at
most ``MAX_LABELS``. Setting an empty label removes it.
"""

from __future__ import annotations

from dataclasses import replace

from consensus.params import ChainParams
from wallet.errors import InvalidInput
from wallet.metadata import WalletMetadata
from wallet.parsing import canonical_address

MAX_LABEL_CHARS = 200
MAX_LABELS = 10_000
_HEX = frozenset("0123456789abcdef")


def label_key(target: str, params: ChainParams) -> str:
    """The key a label is stored under: the txid in lower-case hex, or the address in its
    canonical (lower-case) form. ``InvalidAddress`` or ``InvalidInput`` otherwise."""
    text = target.strip()
    lowered = text.lower()
    if len(lowered) == 64 and set(lowered) <= _HEX:
        return lowered
    return canonical_address(text, params)  # names the problem: checksum, network, form


def check_label_text(text: str) -> str:
    """The label as given, with surrounding spaces removed; ``InvalidInput`` when too long or
    holding a control character."""
    label = text.strip()
    if len(label) > MAX_LABEL_CHARS:
        raise InvalidInput(f"a label is at most {MAX_LABEL_CHARS} characters, got {len(label)}")
    if any(not ch.isprintable() for ch in label):
        raise InvalidInput("a label may not contain control characters or line breaks")
    return label


def with_label(meta: WalletMetadata, key: str, text: str) -> WalletMetadata:
    """``meta`` with ``key`` labelled ``text`` (checked), or unlabelled when it is empty."""
    label = check_label_text(text)
    labels = dict(meta.labels)
    if not label:
        labels.pop(key, None)
    else:
        if key not in labels and len(labels) >= MAX_LABELS:
            raise InvalidInput(f"this wallet already has {MAX_LABELS} labels; remove some first")
        labels[key] = label
    return replace(meta, labels=labels)
