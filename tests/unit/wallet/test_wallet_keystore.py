"""The encrypted keystore: round trip, typed errors, tamper detection, atomic writes, modes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from wallet.errors import KeystoreCorrupt, WalletExists, WalletNotFound, WrongPassword
from wallet.keystore import (
    DEFAULT_KDF,
    KdfParams,
    WalletSecrets,
    _canonical,
    _checksum,
    change_password,
    create_keystore,
    open_keystore,
    read_keystore_info,
)

CHEAP = KdfParams(n=16, r=8, p=1)
MNEMONIC = (
    "hamster diagram private dutch cause delay private meat slide toddler razor book happy"
    " fancy gospel tennis maple dilemma loan word shrug inflict delay length"
)
SECRETS = WalletSecrets(MNEMONIC, "correct horse")


@pytest.fixture
def keystore(tmp_path: Path) -> Path:
    path = tmp_path / "wallets" / "default" / "keystore.json"
    create_keystore(path, SECRETS, "hunter2", "regtest", kdf=CHEAP)
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def test_create_and_open(keystore: Path) -> None:
    info, secrets = open_keystore(keystore, "hunter2")
    assert secrets == SECRETS
    assert info.network == "regtest" and info.version == 1 and info.kdf == CHEAP
    assert read_keystore_info(keystore) == info
    assert secrets.seed() == SECRETS.seed()
    assert len(secrets.seed()) == 64


def test_default_kdf_parameters(tmp_path: Path) -> None:
    path = tmp_path / "keystore.json"
    create_keystore(path, SECRETS, "pw", "main")
    info, secrets = open_keystore(path, "pw")
    assert info.kdf == DEFAULT_KDF == KdfParams(n=2**17, r=8, p=1)
    assert secrets == SECRETS
    document = json.loads(path.read_bytes())
    assert document["kdf"]["n"] == 2**17 and document["cipher"]["name"] == "aes-256-gcm"
    assert len(bytes.fromhex(document["kdf"]["salt"])) == 32
    assert len(bytes.fromhex(document["cipher"]["nonce"])) == 12


def test_wrong_password(keystore: Path) -> None:
    before = snapshot(keystore.parent)
    with pytest.raises(WrongPassword) as caught:
        open_keystore(keystore, "hunter3")
    assert str(caught.value) == "wrong password"
    assert snapshot(keystore.parent) == before


def test_password_is_nfkd_normalised(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    create_keystore(path, SECRETS, "caf\u00e9", "regtest", kdf=CHEAP)
    assert open_keystore(path, "cafe\u0301")[1] == SECRETS


def test_file_mode_and_directory_mode(keystore: Path) -> None:
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert stat.S_IMODE(keystore.parent.stat().st_mode) == 0o700


def test_mode_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = tmp_path / "k.json"
        create_keystore(path, SECRETS, "pw", "regtest", kdf=CHEAP)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_plaintext_secrets_not_in_file(keystore: Path) -> None:
    data = keystore.read_bytes()
    for word in ("hamster", "diagram", "correct horse", "hunter2"):
        assert word.encode() not in data


def test_wallet_exists_is_never_overwritten(keystore: Path) -> None:
    before = keystore.read_bytes()
    other = WalletSecrets("abandon " * 11 + "about")
    with pytest.raises(WalletExists):
        create_keystore(keystore, other, "pw", "regtest", kdf=CHEAP)
    assert keystore.read_bytes() == before
    assert [p.name for p in keystore.parent.iterdir()] == ["keystore.json"]


def test_wallet_not_found(tmp_path: Path) -> None:
    with pytest.raises(WalletNotFound):
        open_keystore(tmp_path / "nope.json", "pw")
    with pytest.raises(WalletNotFound):
        read_keystore_info(tmp_path / "nope.json")


@pytest.mark.parametrize("keep", [0, 1, 10, 100, -50, -2])
def test_truncated_file(keystore: Path, keep: int) -> None:
    data = keystore.read_bytes()
    keystore.write_bytes(data[:keep] if keep >= 0 else data[: len(data) + keep])
    with pytest.raises(KeystoreCorrupt):
        open_keystore(keystore, "hunter2")


def test_every_single_bit_flip_is_detected_as_corrupt(keystore: Path) -> None:
    data = keystore.read_bytes()
    for position in range(len(data)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[position] ^= 1 << bit
            keystore.write_bytes(bytes(damaged))
            with pytest.raises(KeystoreCorrupt):
                open_keystore(keystore, "hunter2")


def _rewrite(path: Path, change: dict[str, object], *, fix_checksum: bool) -> None:
    document = json.loads(path.read_bytes())
    for dotted, value in change.items():
        target = document
        *parents, last = dotted.split(".")
        for name in parents:
            target = target[name]
        target[last] = value
    if fix_checksum:
        document["checksum"] = _checksum(document)
    path.write_bytes(json.dumps(document).encode())


def test_flipped_ciphertext_byte(keystore: Path) -> None:
    document = json.loads(keystore.read_bytes())
    ciphertext = bytearray(bytes.fromhex(document["ciphertext"]))
    ciphertext[5] ^= 0x80
    _rewrite(keystore, {"ciphertext": ciphertext.hex()}, fix_checksum=False)
    with pytest.raises(KeystoreCorrupt, match="checksum"):
        open_keystore(keystore, "hunter2")


def test_flipped_header_byte(keystore: Path) -> None:
    _rewrite(keystore, {"network": "regtesu"}, fix_checksum=False)
    with pytest.raises(KeystoreCorrupt, match="checksum"):
        open_keystore(keystore, "hunter2")


def test_header_bound_by_associated_data(keystore: Path) -> None:
    # A deliberate edit with a recomputed checksum: the password is right, but the header is
    # not the one the ciphertext was sealed with.
    _rewrite(keystore, {"network": "main"}, fix_checksum=True)
    with pytest.raises(KeystoreCorrupt, match="does not decrypt"):
        open_keystore(keystore, "hunter2")


def test_ciphertext_tampered_with_checksum_fixed(keystore: Path) -> None:
    document = json.loads(keystore.read_bytes())
    ciphertext = bytearray(bytes.fromhex(document["ciphertext"]))
    ciphertext[0] ^= 1
    _rewrite(keystore, {"ciphertext": ciphertext.hex()}, fix_checksum=True)
    with pytest.raises(KeystoreCorrupt, match="does not decrypt"):
        open_keystore(keystore, "hunter2")


def test_unknown_version(keystore: Path) -> None:
    _rewrite(keystore, {"version": 2}, fix_checksum=True)
    with pytest.raises(KeystoreCorrupt, match="unknown keystore version 2"):
        open_keystore(keystore, "hunter2")


@pytest.mark.parametrize(
    "change",
    [{"kdf.n": 2**40}, {"kdf.n": 1000}, {"kdf.name": "pbkdf2"}, {"cipher.name": "aes-128-gcm"}],
)
def test_unsupported_parameters(keystore: Path, change: dict[str, object]) -> None:
    _rewrite(keystore, change, fix_checksum=True)
    with pytest.raises(KeystoreCorrupt, match="unsupported"):
        open_keystore(keystore, "hunter2")


@pytest.mark.parametrize(
    "content",
    [b"", b"\xff\xfe", b"[]", b'{"format": "other"}', b"null", b"x" * 70_000],
)
def test_not_a_keystore(keystore: Path, content: bytes) -> None:
    keystore.write_bytes(content)
    with pytest.raises(KeystoreCorrupt):
        open_keystore(keystore, "hunter2")


def test_missing_field(keystore: Path) -> None:
    document = json.loads(keystore.read_bytes())
    del document["password_check"]
    document["checksum"] = _checksum(document)
    keystore.write_bytes(json.dumps(document).encode())
    with pytest.raises(KeystoreCorrupt, match="password_check"):
        open_keystore(keystore, "hunter2")


def test_change_password(keystore: Path) -> None:
    change_password(keystore, "hunter2", "new pw", kdf=CHEAP)
    assert open_keystore(keystore, "new pw")[1] == SECRETS
    with pytest.raises(WrongPassword):
        open_keystore(keystore, "hunter2")
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600


def test_crash_during_replace_leaves_old_file(
    keystore: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = keystore.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr("wallet.fileio.os.replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        change_password(keystore, "hunter2", "new pw", kdf=CHEAP)
    monkeypatch.undo()
    assert keystore.read_bytes() == before
    assert open_keystore(keystore, "hunter2")[1] == SECRETS
    assert [p.name for p in keystore.parent.iterdir()] == ["keystore.json"]  # no temp left


def test_crash_while_writing_temp_leaves_old_file(
    keystore: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = keystore.read_bytes()

    def crash(fd: int) -> None:
        raise OSError("simulated disk failure")

    monkeypatch.setattr("wallet.fileio.os.fsync", crash)
    with pytest.raises(OSError, match="disk failure"):
        change_password(keystore, "hunter2", "new pw", kdf=CHEAP)
    monkeypatch.undo()
    assert keystore.read_bytes() == before
    assert [p.name for p in keystore.parent.iterdir()] == ["keystore.json"]


def test_failed_create_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash")

    monkeypatch.setattr("wallet.fileio.os.link", crash)
    with pytest.raises(OSError):
        create_keystore(tmp_path / "k.json", SECRETS, "pw", "regtest", kdf=CHEAP)
    assert list(tmp_path.iterdir()) == []


def test_invalid_mnemonic_is_never_stored(tmp_path: Path) -> None:
    from wallet.errors import InvalidMnemonic

    with pytest.raises(InvalidMnemonic):
        create_keystore(
            tmp_path / "k.json", WalletSecrets("abandon " * 12), "pw", "regtest", kdf=CHEAP
        )
    assert list(tmp_path.iterdir()) == []


def test_no_secrets_in_repr(keystore: Path) -> None:
    info, secrets = open_keystore(keystore, "hunter2")
    for text in (repr(secrets), str(secrets), repr(info), repr((info, secrets))):
        assert "hamster" not in text and "correct horse" not in text
    assert "redacted" in repr(secrets)


def test_canonical_associated_data_is_stable() -> None:
    assert _canonical({"b": 1, "a": {"d": "x", "c": 2}}) == b'{"a":{"c":2,"d":"x"},"b":1}'


def test_file_size_does_not_reveal_word_lengths(tmp_path: Path) -> None:
    short = "abandon " * 23 + "art"
    create_keystore(tmp_path / "a.json", WalletSecrets(short), "pw", "regtest", kdf=CHEAP)
    create_keystore(tmp_path / "b.json", WalletSecrets(MNEMONIC), "pw", "regtest", kdf=CHEAP)
    sizes = {
        len(json.loads((tmp_path / name).read_bytes())["ciphertext"])
        for name in ("a.json", "b.json")
    }
    assert len(sizes) == 1
