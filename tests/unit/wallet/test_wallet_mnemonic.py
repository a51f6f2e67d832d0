"""BIP 39 through the mnemonic package: Trezor's published vectors, validation, normalising."""

from __future__ import annotations

import pytest

from wallet.errors import InvalidMnemonic
from wallet.mnemonic import (
    generate_mnemonic,
    mnemonic_from_entropy,
    mnemonic_to_entropy,
    mnemonic_to_seed,
    normalize_mnemonic,
    validate_mnemonic,
)

# From trezor/python-mnemonic vectors.json ("english"); every vector's passphrase is "TREZOR".
VECTORS = [
    (
        "00000000000000000000000000000000",
        (
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
            "abandon about"
        ),
        (
            "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e5349553"
            "1f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
        ),
    ),
    (
        "ffffffffffffffffffffffffffffffff",
        "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
        (
            "ac27495480225222079d7be181583751e86f571027b0497b5b5d11218e0a8a13"
            "332572917f0f8e5a589620c6f15b11c61dee327651a14c34e18231052e48c069"
        ),
    ),
    (
        "6610b25967cdcca9d59875f5cb50b0ea75433311869e930b",
        (
            "gravity machine north sort system female filter attitude volume fold club stay "
            "feature office ecology stable narrow fog"
        ),
        (
            "628c3827a8823298ee685db84f55caa34b5cc195a778e52d45f59bcf75aba68e"
            "4d7590e101dc414bc1bbd5737666fbbef35d1f1903953b66624f910feef245ac"
        ),
    ),
    (
        "0000000000000000000000000000000000000000000000000000000000000000",
        (
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
            "abandon abandon abandon art"
        ),
        (
            "bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd30971"
            "70af7a4d73245cafa9c3cca8d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8"
        ),
    ),
    (
        "68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
        (
            "hamster diagram private dutch cause delay private meat slide toddler razor book "
            "happy fancy gospel tennis maple dilemma loan word shrug inflict delay length"
        ),
        (
            "64c87cde7e12ecf6704ab95bb1408bef047c22db4cc7491c4271d170a1b213d2"
            "0b385bc1588d9c7b38f1b39d415665b8a9030c9ec653d75e65f847d8fc1fc440"
        ),
    ),
    (
        "f585c11aec520db57dd353c69554b21a89b20fb0650966fa0a9d6f74fd989d8f",
        (
            "void come effort suffer camp survey warrior heavy shoot primary clutch crush open "
            "amazing screen patrol group space point ten exist slush involve unfold"
        ),
        (
            "01f5bced59dec48e362f2c45b5de68b9fd6c92c6634f44d6d40aab69056506f0"
            "e35524a518034ddc1192e1dacd32c1ed3eaa3c3b131c88ed8e7e54c49a5d0998"
        ),
    ),
]


@pytest.mark.parametrize(("entropy", "phrase", "seed"), VECTORS)
def test_trezor_vectors(entropy: str, phrase: str, seed: str) -> None:
    assert mnemonic_from_entropy(bytes.fromhex(entropy)) == phrase
    assert mnemonic_to_entropy(phrase).hex() == entropy
    assert mnemonic_to_seed(phrase, "TREZOR").hex() == seed


def test_generate_24_words_by_default_and_round_trip() -> None:
    phrase = generate_mnemonic()
    assert len(phrase.split()) == 24
    assert validate_mnemonic(phrase) == phrase
    entropy = mnemonic_to_entropy(phrase)
    assert len(entropy) == 32
    assert mnemonic_from_entropy(entropy) == phrase
    assert generate_mnemonic() != phrase
    assert len(generate_mnemonic(128).split()) == 12
    with pytest.raises(ValueError):
        generate_mnemonic(100)


def test_normalising_whitespace_and_case() -> None:
    phrase = VECTORS[0][1]
    messy = "  " + phrase.upper().replace(" ", " \t\n ", 3) + "\n"
    assert normalize_mnemonic(messy) == phrase
    assert validate_mnemonic(messy) == phrase
    assert mnemonic_to_seed(messy, "TREZOR").hex() == VECTORS[0][2]


def test_passphrase_is_nfkd_normalised() -> None:
    phrase = VECTORS[0][1]
    composed = "caf\u00e9"  # é as one code point
    decomposed = "cafe\u0301"  # e + combining acute accent
    assert mnemonic_to_seed(phrase, composed) == mnemonic_to_seed(phrase, decomposed)
    assert mnemonic_to_seed(phrase, composed) != mnemonic_to_seed(phrase, "cafe")
    assert mnemonic_to_seed(phrase, "") != mnemonic_to_seed(phrase, " ")


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("", "0 words"),
        ("abandon " * 11 + "about zoo", "13 words"),
        ("abandon " * 11 + "abandon", "checksum does not match"),
        ("abandon " * 4 + "bitcoinz " + "abandon " * 6 + "about", "word 5 is not in the BIP39"),
        ("zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo", "checksum does not match"),
        (
            "abandon " * 11 + "ab\u00f3ut",
            "word 12",
        ),
    ],
)
def test_invalid_mnemonics(phrase: str, message: str) -> None:
    with pytest.raises(InvalidMnemonic, match=message) as caught:
        validate_mnemonic(phrase)
    text = str(caught.value)
    assert text.startswith("invalid mnemonic")
    assert "\n" not in text
    for word in ("abandon", "about", "zoo", "bitcoinz"):
        assert word not in text  # never echo a word of the phrase


def test_seed_is_never_derived_from_an_invalid_phrase() -> None:
    with pytest.raises(InvalidMnemonic):
        mnemonic_to_seed("abandon " * 11 + "abandon")
