"""Signed messages: prove control of an address (Bitcoin Core's ``signmessage`` /
``verifymessage``, Electrum's "sign/verify message"), with Seedchain's Ed25519 keys.

May import ``consensus``, ``cryptography`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``). Pure. The format (docs/protocol.md, "Signed messages"):

    digest    = sha256d(b"seedchain/message/v1" || chain_id || u64be(len(message)) || message)
    signature = base64(pubkey (32 bytes) || Ed25519 signature of digest (64 bytes))

``message`` is the UTF-8 text, at most ``MAX_MESSAGE_BYTES``. The chain id binds a signature
to one network; the public key travels with it because an address holds only its hash. A
signature verifies for an address when the key hashes to the address's key hash and the
Ed25519 signature of the digest checks.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consensus.addresses import key_hash, lock_for_key_hash
from consensus.hashing import sha256d
from consensus.params import ChainParams
from wallet.errors import InvalidInput
from wallet.keys import WalletKey
from wallet.parsing import parse_address

MESSAGE_TAG = b"seedchain/message/v1"
MAX_MESSAGE_BYTES = 64 * 1024
SIGNATURE_BYTES = 32 + 64


def message_digest(message: str, chain_id: bytes) -> bytes:
    data = message.encode("utf-8")
    if len(data) > MAX_MESSAGE_BYTES:
        raise InvalidInput(f"a message is at most {MAX_MESSAGE_BYTES} bytes, got {len(data)}")
    return sha256d(MESSAGE_TAG + chain_id + len(data).to_bytes(8, "big") + data)


def sign_message(key: WalletKey, message: str, params: ChainParams) -> str:
    """The signature text of ``message`` by ``key``, for ``params``' network
    (:class:`InvalidInput` for a watch-only wallet's key, which has no private half)."""
    if not key.private_key:
        raise InvalidInput("a watch-only wallet has no private keys: it cannot sign messages")
    digest = message_digest(message, params.chain_id)
    signature = Ed25519PrivateKey.from_private_bytes(key.private_key).sign(digest)
    return base64.b64encode(key.public_key + signature).decode("ascii")


def verify_message(address: str, signature: str, message: str, params: ChainParams) -> bool:
    """Whether ``signature`` is ``address``'s over ``message`` on ``params``' network.
    ``InvalidAddress`` for a bad address, ``InvalidInput`` for a signature that is not one
    (not base64, or not 96 bytes); False when it is well formed but does not verify."""
    lock = parse_address(address, params)
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the signature is not base64") from None
    if len(raw) != SIGNATURE_BYTES:
        raise InvalidInput(f"a signature is {SIGNATURE_BYTES} bytes, this one {len(raw)}")
    pubkey, ed25519_signature = raw[:32], raw[32:]
    if lock_for_key_hash(key_hash(pubkey)) != lock:
        return False
    digest = message_digest(message, params.chain_id)
    try:
        Ed25519PublicKey.from_public_bytes(pubkey).verify(ed25519_signature, digest)
    except (InvalidSignature, ValueError):
        return False
    return True
