"""Ed25519 signatures over Seedchain's signature hash. May import cryptography and stdlib.

``sighash = sha256d(b"seedchain/sighash/v1" || chain_id || txid_preimage ||
msgpack(spent_outputs))`` where ``spent_outputs`` lists ``[value, lock]`` of every output being
spent, in input order. Every input signs the same message with its own key.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consensus.encoding import pack
from consensus.errors import BadSignature
from consensus.hashing import sha256d
from consensus.transaction import Transaction, TxOut, Witness

SIGHASH_TAG = b"seedchain/sighash/v1"


def sighash(tx: Transaction, spent_outputs: Sequence[TxOut], chain_id: bytes) -> bytes:
    """The message every input of ``tx`` signs (see the module docstring)."""
    if len(spent_outputs) != len(tx.inputs):
        raise ValueError(f"{len(spent_outputs)} spent outputs for {len(tx.inputs)} inputs")
    return sha256d(SIGHASH_TAG + chain_id + tx.txid_preimage + pack(list(spent_outputs)))


def public_key(private_key: bytes) -> bytes:
    """The 32-byte Ed25519 public key of a 32-byte private key (seed)."""
    return Ed25519PrivateKey.from_private_bytes(private_key).public_key().public_bytes_raw()


def sign_transaction(
    tx: Transaction,
    private_keys: Sequence[bytes],
    spent_outputs: Sequence[TxOut],
    chain_id: bytes,
) -> Transaction:
    """Return ``tx`` with one witness per input, input ``i`` signed with ``private_keys[i]``."""
    if len(private_keys) != len(tx.inputs):
        raise ValueError(f"{len(private_keys)} keys for {len(tx.inputs)} inputs")
    message = sighash(tx, spent_outputs, chain_id)
    witnesses = []
    for key_bytes in private_keys:
        key = Ed25519PrivateKey.from_private_bytes(key_bytes)
        witnesses.append(Witness(key.public_key().public_bytes_raw(), key.sign(message)))
    return tx.with_witnesses(tuple(witnesses))


def verify_signature(pubkey: bytes, signature: bytes, message: bytes) -> None:
    """Raise :class:`BadSignature` unless ``signature`` is ``pubkey``'s over ``message``."""
    try:
        Ed25519PublicKey.from_public_bytes(pubkey).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise BadSignature("signature does not verify") from None


def verify_batch(jobs: Sequence[tuple[bytes, bytes, bytes]]) -> int:
    """Verify ``(pubkey, signature, message)`` triples; return the index of the first bad one,
    or -1 when all verify. A plain function of bytes so it can run in a worker process."""
    for index, (pubkey, signature, message) in enumerate(jobs):
        try:
            Ed25519PublicKey.from_public_bytes(pubkey).verify(signature, message)
        except (InvalidSignature, ValueError):
            return index
    return -1
