"""SLIP-0010 Ed25519 derivation against the published test vectors, paths, and the keychain."""

from __future__ import annotations

import pytest

from consensus.addresses import decode_address, key_hash, lock_for_key_hash
from consensus.params import MAIN, REGTEST
from wallet.errors import InvalidDerivationPath
from wallet.keys import (
    HARDENED,
    ExtendedKey,
    Keychain,
    KeyId,
    format_path,
    master_key,
    parse_path,
    wallet_path,
)
from wallet.mnemonic import mnemonic_to_seed

# SLIP-0010, "Test vector 1 for ed25519" and "Test vector 2 for ed25519"
# (https://github.com/satoshilabs/slips/blob/master/slip-0010.md): path, chain code, private
# key, public key (SLIP-0010 shows the Ed25519 public key with a 0x00 prefix).
VECTOR_1_SEED = "000102030405060708090a0b0c0d0e0f"
VECTOR_1 = [
    (
        "m",
        "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb",
        "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7",
        "00a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed",
    ),
    (
        "m/0H",
        "8b59aa11380b624e81507a27fedda59fea6d0b779a778918a2fd3590e16e9c69",
        "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3",
        "008c8a13df77a28f3445213a0f432fde644acaa215fc72dcdf300d5efaa85d350c",
    ),
    (
        "m/0H/1H",
        "a320425f77d1b5c2505a6b1b27382b37368ee640e3557c315416801243552f14",
        "b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2",
        "001932a5270f335bed617d5b935c80aedb1a35bd9fc1e31acafd5372c30f5c1187",
    ),
    (
        "m/0H/1H/2H",
        "2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c",
        "92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9",
        "00ae98736566d30ed0e9d2f4486a64bc95740d89c7db33f52121f8ea8f76ff0fc1",
    ),
    (
        "m/0H/1H/2H/2H",
        "8f6d87f93d750e0efccda017d662a1b31a266e4a6f5993b15f5c1f07f74dd5cc",
        "30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662",
        "008abae2d66361c879b900d204ad2cc4984fa2aa344dd7ddc46007329ac76c429c",
    ),
    (
        "m/0H/1H/2H/2H/1000000000H",
        "68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230",
        "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793",
        "003c24da049451555d51a7014a37337aa4e12d41e485abccfa46b47dfb2af54b7a",
    ),
]
VECTOR_2_SEED = (
    "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a2"
    "9f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542"
)
VECTOR_2 = [
    (
        "m",
        "ef70a74db9c3a5af931b5fe73ed8e1a53464133654fd55e7a66f8570b8e33c3b",
        "171cb88b1b3c1db25add599712e36245d75bc65a1a5c9e18d76f9f2b1eab4012",
        "008fe9693f8fa62a4305a140b9764c5ee01e455963744fe18204b4fb948249308a",
    ),
    (
        "m/0H",
        "0b78a3226f915c082bf118f83618a618ab6dec793752624cbeb622acb562862d",
        "1559eb2bbec5790b0c65d8693e4d0875b1747f4970ae8b650486ed7470845635",
        "0086fab68dcb57aa196c77c5f264f215a112c22a912c10d123b0d03c3c28ef1037",
    ),
    (
        "m/0H/2147483647H",
        "138f0b2551bcafeca6ff2aa88ba8ed0ed8de070841f0c4ef0165df8181eaad7f",
        "ea4f5bfe8694d8bb74b7b59404632fd5968b774ed545e810de9c32a4fb4192f4",
        "005ba3b9ac6e90e83effcd25ac4e58a1365a9e35a3d3ae5eb07b9e4d90bcf7506d",
    ),
    (
        "m/0H/2147483647H/1H",
        "73bd9fff1cfbde33a1b846c27085f711c0fe2d66fd32e139d3ebc28e5a4a6b90",
        "3757c7577170179c7868353ada796c839135b3d30554bbb74a4b1e4a5a58505c",
        "002e66aa57069c86cc18249aecf5cb5a9cebbfd6fadeab056254763874a9352b45",
    ),
    (
        "m/0H/2147483647H/1H/2147483646H",
        "0902fe8a29f9140480a00ef244bd183e8a13288e4412d8389d140aac1794825a",
        "5837736c89570de861ebc173b1086da4f505d4adb387c6a1b1342d5e4ac9ec72",
        "00e33c0f7d81d843c572275f287498e8d408654fdf0d1e065b84e2e6f157aab09b",
    ),
    (
        "m/0H/2147483647H/1H/2147483646H/2H",
        "5d70af781f3a37b829f0d060924d5e960bdc02e85423494afc0b1a41bbe196d4",
        "551d333177df541ad876a60ea71f00447931c0a9da16f227c11ea080d7391b8d",
        "0047150c75db263559a70d5778bf36abbab30fb061ad69f69ece61a72b0cfa4fc0",
    ),
]
CASES = [(VECTOR_1_SEED, *row) for row in VECTOR_1] + [(VECTOR_2_SEED, *row) for row in VECTOR_2]


@pytest.mark.parametrize(("seed", "path", "chain_code", "private", "public"), CASES)
def test_slip10_ed25519_vectors(
    seed: str, path: str, chain_code: str, private: str, public: str
) -> None:
    key = master_key(bytes.fromhex(seed)).derive(parse_path(path))
    assert key.chain_code.hex() == chain_code
    assert key.private_key.hex() == private
    assert "00" + key.public_key.hex() == public
    assert key.depth == path.count("/")


def test_child_by_child_equals_derive() -> None:
    master = master_key(bytes.fromhex(VECTOR_1_SEED))
    step = master
    for index in parse_path("m/0H/1H/2H"):
        step = step.child(index)
    assert step.private_key == master.derive(parse_path("m/0'/1'/2'")).private_key


def test_non_hardened_child_is_refused() -> None:
    with pytest.raises(InvalidDerivationPath, match="hardened only"):
        master_key(bytes(16)).child(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("m", ()),
        ("m/0'", (HARDENED,)),
        (
            "m/44'/8888'/0'/1'/5'",
            (44 | HARDENED, 8888 | HARDENED, HARDENED, 1 | HARDENED, 5 | HARDENED),
        ),
        ("m/2147483647h", (0xFFFF_FFFF,)),
        ("m/7H", (7 | HARDENED,)),
    ],
)
def test_parse_path(text: str, expected: tuple[int, ...]) -> None:
    assert parse_path(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "44'/0'",
        "m/0",
        "m/0'/1",
        "m/-1'",
        "m/2147483648'",
        "m/01'",
        "m/x'",
        "m//0'",
        "m/'",
        "M/0'",
    ],
)
def test_parse_path_rejects(text: str) -> None:
    with pytest.raises(InvalidDerivationPath):
        parse_path(text)


def test_format_path_round_trip() -> None:
    text = "m/44'/8888'/3'/1'/2147483647'"
    assert format_path(parse_path(text)) == text
    assert format_path(wallet_path(0, 0, 7)) == "m/44'/8888'/0'/0'/7'"
    with pytest.raises(InvalidDerivationPath):
        format_path([5])
    with pytest.raises(InvalidDerivationPath):
        wallet_path(0, 0, HARDENED)


MNEMONIC = (
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon"
    " abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon"
    " abandon art"
)


def test_keychain_matches_full_path_derivation() -> None:
    seed = mnemonic_to_seed(MNEMONIC)
    keychain = Keychain.from_seed(seed, account=2)
    key = keychain.key(1, 9)
    direct = master_key(seed).derive(parse_path("m/44'/8888'/2'/1'/9'"))
    assert key.private_key == direct.private_key
    assert key.public_key == direct.public_key
    assert key.key_hash == key_hash(direct.public_key)
    assert key.lock == lock_for_key_hash(key.key_hash)
    assert key.key_id == KeyId(1, 9)
    assert format_path(key.path) == "m/44'/8888'/2'/1'/9'"
    assert keychain.by_id(KeyId(1, 9)) is key  # cached
    assert keychain.receive_key(0).key_id == KeyId(0, 0)
    assert keychain.change_key(0).key_id == KeyId(1, 0)


def test_addresses_per_network() -> None:
    key = Keychain.from_seed(mnemonic_to_seed(MNEMONIC)).receive_key(0)
    regtest = key.address(REGTEST.hrp)
    main = key.address(MAIN.hrp)
    assert regtest.startswith("rsc1") and main.startswith("sc1")
    assert decode_address(regtest, REGTEST.hrp) == key.key_hash
    assert decode_address(main, MAIN.hrp) == key.key_hash


def test_distinct_keys() -> None:
    keychain = Keychain.from_seed(mnemonic_to_seed(MNEMONIC))
    hashes = {keychain.key(change, index).key_hash for change in (0, 1) for index in range(5)}
    assert len(hashes) == 10


def test_no_secrets_in_repr() -> None:
    seed = mnemonic_to_seed(MNEMONIC)
    keychain = Keychain.from_seed(seed)
    key = keychain.receive_key(0)
    extended = master_key(seed)
    for text in (repr(keychain), repr(key), str(key), repr(extended), repr(keychain.account_key)):
        assert "redacted" in text
        for secret in (key.private_key, extended.private_key, extended.chain_code, seed):
            assert secret.hex() not in text
    assert isinstance(extended, ExtendedKey)
