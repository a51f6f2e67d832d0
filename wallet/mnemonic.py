"""BIP 39 recovery phrases, through the ``mnemonic`` package (Trezor's reference code).

May import ``mnemonic``, ``unicodedata`` and ``wallet.errors``. Nothing here is hand-written
cryptography: generation, the checksum and the PBKDF2 seed all come from the package; this
module only normalises input and turns the package's errors into :class:`InvalidMnemonic`
with a message that names the problem without echoing any word of the phrase.

English word list only (the one every wallet supports). A new phrase has 24 words (256 bits
of entropy); 12, 15, 18, 21 and 24 words are accepted on restore.
"""

from __future__ import annotations

import unicodedata

from mnemonic import Mnemonic

from wallet.errors import InvalidMnemonic

LANGUAGE = "english"
DEFAULT_STRENGTH = 256  # bits of entropy: 24 words
VALID_WORD_COUNTS = (12, 15, 18, 21, 24)
_STRENGTHS = (128, 160, 192, 224, 256)
SEED_SIZE = 64


def _engine() -> Mnemonic:
    return Mnemonic(LANGUAGE)


def generate_mnemonic(strength: int = DEFAULT_STRENGTH) -> str:
    """A new random phrase (``strength`` bits of entropy from ``secrets``; 24 words default)."""
    if strength not in _STRENGTHS:
        raise ValueError(f"strength must be one of {_STRENGTHS}, got {strength}")
    return str(_engine().generate(strength))


def mnemonic_from_entropy(entropy: bytes) -> str:
    """The phrase that encodes ``entropy`` (16, 20, 24, 28 or 32 bytes): for tests and tools."""
    if len(entropy) * 8 not in _STRENGTHS:
        raise ValueError(f"entropy must be 16, 20, 24, 28 or 32 bytes, got {len(entropy)}")
    return str(_engine().to_mnemonic(entropy))


def normalize_mnemonic(text: str) -> str:
    """NFKD, lower case, and single spaces between words (any whitespace, any amount)."""
    return " ".join(unicodedata.normalize("NFKD", text).lower().split())


def normalize_passphrase(passphrase: str) -> str:
    """NFKD, as BIP 39 prescribes. Whitespace is kept: it is part of the passphrase."""
    return unicodedata.normalize("NFKD", passphrase)


def validate_mnemonic(text: str) -> str:
    """Return the normalised phrase, or raise :class:`InvalidMnemonic` saying what is wrong:
    the word count, which word (by position) is not in the list, or the checksum."""
    phrase = normalize_mnemonic(text)
    words = phrase.split(" ") if phrase else []
    if len(words) not in VALID_WORD_COUNTS:
        counts = ", ".join(str(n) for n in VALID_WORD_COUNTS)
        raise InvalidMnemonic(
            f"invalid mnemonic: {len(words)} words; a BIP39 mnemonic has {counts} words"
        )
    engine = _engine()
    known = set(engine.wordlist)
    for position, word in enumerate(words, start=1):
        if word not in known:
            raise InvalidMnemonic(
                f"invalid mnemonic: word {position} is not in the BIP39 English word list"
            )
    if not engine.check(phrase):
        raise InvalidMnemonic(
            "invalid mnemonic: checksum does not match (a word is wrong or out of order)"
        )
    return phrase


def mnemonic_to_entropy(text: str) -> bytes:
    """The entropy a valid phrase encodes (:class:`InvalidMnemonic` otherwise)."""
    phrase = validate_mnemonic(text)
    return bytes(_engine().to_entropy(phrase))


def mnemonic_to_seed(text: str, passphrase: str = "") -> bytes:
    """The 64-byte BIP 39 seed of a valid phrase and an optional passphrase.

    The phrase is validated first (:class:`InvalidMnemonic`): a seed is never derived from a
    phrase with a bad checksum, which would silently open an empty wallet.
    """
    phrase = validate_mnemonic(text)
    seed = Mnemonic.to_seed(phrase, normalize_passphrase(passphrase))
    return bytes(seed)
