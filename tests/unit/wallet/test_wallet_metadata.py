"""The plain wallet metadata file, wallet paths, atomic writes and the inter-process lock."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from consensus.transaction import OutPoint
from wallet.errors import KeystoreCorrupt, KeystoreError, WalletLocked, WalletNotFound
from wallet.fileio import atomic_create, atomic_write, exclusive_lock
from wallet.metadata import (
    PendingSend,
    WalletMetadata,
    WalletPaths,
    load_metadata,
    parse_outpoint,
    save_metadata,
)


def pending(n: int, *, replaces: bytes | None = None) -> PendingSend:
    return PendingSend(
        txid=bytes([n]) * 32,
        raw=b"\x96" + bytes([n]),
        inputs=(OutPoint(bytes([n + 100]) * 32, 0), OutPoint(bytes([n + 100]) * 32, 300)),
        fee=1000 + n,
        created=1_700_000_000,
        change_vout=1,
        change_index=n,
        replaces=replaces,
    )


def test_round_trip_and_mode(tmp_path: Path) -> None:
    meta = WalletMetadata("regtest", next_receive=3, next_change=2, labels={"rsc1x": "shop"})
    meta.add_pending(pending(1))
    path = tmp_path / "wallet.json"
    save_metadata(path, meta)
    assert load_metadata(path) == meta
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_sweep_flag_round_trips_and_defaults_to_false(tmp_path: Path) -> None:
    meta = WalletMetadata("regtest")
    meta.add_pending(replace(pending(1), sweep=True))
    meta.add_pending(pending(2))
    path = tmp_path / "wallet.json"
    save_metadata(path, meta)
    assert [p.sweep for p in load_metadata(path).pending] == [True, False]
    older = json.loads(path.read_text())  # a file written before the flag existed
    for send in older["pending"]:
        del send["sweep"]
    path.write_text(json.dumps(older))
    assert [p.sweep for p in load_metadata(path).pending] == [False, False]
    older["pending"][0]["sweep"] = "yes"
    path.write_text(json.dumps(older))
    with pytest.raises(KeystoreCorrupt):
        load_metadata(path)


def test_gap_limit_round_trips_and_is_written_only_when_changed(tmp_path: Path) -> None:
    path = tmp_path / "wallet.json"
    save_metadata(path, WalletMetadata("regtest"))
    assert "gap_limit" not in json.loads(path.read_text())
    assert load_metadata(path).gap_limit == 20
    save_metadata(path, WalletMetadata("regtest", gap_limit=500))
    assert json.loads(path.read_text())["gap_limit"] == 500
    assert load_metadata(path).gap_limit == 500
    for bad in (0, 10_001, "50", True):
        document = json.loads(path.read_text())
        document["gap_limit"] = bad
        path.write_text(json.dumps(document))
        with pytest.raises(KeystoreCorrupt, match="damaged"):
            load_metadata(path)


def test_reserved_outpoints_and_replacement() -> None:
    meta = WalletMetadata("regtest")
    meta.add_pending(pending(1))
    meta.add_pending(pending(2))
    assert meta.reserved_outpoints() == frozenset(pending(1).inputs + pending(2).inputs)
    bump = pending(3, replaces=pending(1).txid)
    meta.add_pending(bump)
    assert [p.txid for p in meta.pending] == [pending(2).txid, bump.txid]
    meta.drop_pending(pending(2).txid)
    assert meta.pending == [bump]


def test_outpoint_text_round_trip() -> None:
    outpoint = OutPoint(bytes(range(32)), 7)
    assert parse_outpoint(str(outpoint)) == outpoint
    for bad in ("", "abc", "00:1", str(outpoint) + "x", str(outpoint).replace(":", "")):
        with pytest.raises(ValueError):
            parse_outpoint(bad)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"[]",
        b'{"format": "seedchain-wallet-metadata", "version": 9}',
        b'{"format": "seedchain-wallet-metadata", "version": 1, "network": "regtest"}',
    ],
)
def test_corrupt_metadata(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "wallet.json"
    path.write_bytes(content)
    with pytest.raises(KeystoreCorrupt):
        load_metadata(path)


def test_missing_metadata(tmp_path: Path) -> None:
    with pytest.raises(WalletNotFound):
        load_metadata(tmp_path / "wallet.json")


def test_wallet_paths(tmp_path: Path) -> None:
    paths = WalletPaths.of(tmp_path, "default")
    assert paths.keystore == tmp_path / "wallets" / "default" / "keystore.json"
    assert paths.metadata.parent == paths.lock.parent == paths.directory
    for bad in ("", "../x", "a/b", ".hidden", "x" * 65, "sp ace"):
        with pytest.raises(KeystoreError, match="invalid wallet name"):
            WalletPaths.of(tmp_path, bad)


def test_atomic_write_crash_keeps_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f"
    atomic_write(path, b"old")

    def crash(src: object, dst: object) -> None:
        raise OSError("crash")

    monkeypatch.setattr("wallet.fileio.os.replace", crash)
    with pytest.raises(OSError):
        atomic_write(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"


def test_atomic_create_refuses_existing(tmp_path: Path) -> None:
    path = tmp_path / "f"
    atomic_create(path, b"first")
    with pytest.raises(FileExistsError):
        atomic_create(path, b"second")
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_exclusive_lock(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    with exclusive_lock(lock), pytest.raises(WalletLocked), exclusive_lock(lock, wait=False):
        pass
    with exclusive_lock(lock, wait=False):
        pass
