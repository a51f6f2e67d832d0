"""Watch-only wallets and offline signing against the in-memory node (``wallet.watch``,
``wallet.offline``): the watch-only wallet sees what the wallet with the keys sees and builds
the same transaction unsigned; the signer checks the file; malformed files are named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from consensus.params import REGTEST, TEST
from consensus.signing import sighash, verify_signature
from consensus.transaction import COIN
from tests.unit.wallet.fakenode import FakeNode
from tests.unit.wallet.test_wallet_cpfp import slow_payment
from tests.unit.wallet.test_wallet_engine import KEYS, OTHER, funded, location, new_wallet, reopen
from wallet.errors import InvalidInput, KeystoreCorrupt, WalletError, WalletExists
from wallet.keys import CHANGE, RECEIVE
from wallet.location import check_wallet, is_watch_only, keystore_info
from wallet.metadata import WalletMetadata
from wallet.offline import check_against, parse_tx_file, sign_file
from wallet.sending import broadcast_checked
from wallet.session import WalletSession
from wallet.watch import (
    WatchOnlyLimit,
    WatchOnlyWallet,
    create_watch_wallet,
    export_public_keys,
    parse_watch_file,
)


def watch_wallet(tmp_path: Path, node: FakeNode, count: int = 25) -> WalletSession:
    exported = export_public_keys(KEYS, "regtest", WalletMetadata("regtest"), count)
    where = location(tmp_path, "watch")
    create_watch_wallet(where.paths, "regtest", exported, "keys.json")
    return WalletSession.open_watch(where, node)


def test_the_watch_file_holds_public_keys_only() -> None:
    meta = WalletMetadata("regtest", next_receive=30, next_change=2)
    document = json.loads(export_public_keys(KEYS, "regtest", meta, 10))
    assert len(document["receive"]) == 50 and len(document["change"]) == 22  # in use + 20
    assert document["receive"][3] == KEYS.key(RECEIVE, 3).public_key.hex()
    assert KEYS.key(RECEIVE, 3).private_key.hex() not in json.dumps(document)
    watch = parse_watch_file(json.dumps(document).encode(), "f")
    key = watch.keychain.key(CHANGE, 21)
    assert key.lock == KEYS.key(CHANGE, 21).lock and key.private_key == b""
    assert key.path == KEYS.key(CHANGE, 21).path
    with pytest.raises(WatchOnlyLimit, match="22 change addresses, not index 22"):
        watch.keychain.key(CHANGE, 22)
    assert "private" not in repr(watch.keychain)


def test_the_watch_file_carries_the_gap_limit(tmp_path: Path) -> None:
    meta = WalletMetadata("regtest", next_receive=30, next_change=2, gap_limit=100)
    exported = export_public_keys(KEYS, "regtest", meta, 10)
    document = json.loads(exported)
    assert len(document["receive"]) == 130 and len(document["change"]) == 102  # in use + gap
    assert document["gap_limit"] == 100
    where = location(tmp_path, "watch")
    assert create_watch_wallet(where.paths, "regtest", exported, "keys.json").gap_limit == 100
    assert WalletSession.open_watch(where, None).gap_limit == 100
    for bad in (0, "100"):
        document["gap_limit"] = bad
        with pytest.raises(KeystoreCorrupt, match="'gap_limit' is not from 1 to"):
            parse_watch_file(json.dumps(document).encode(), "keys.json")
    with pytest.raises(WalletError, match="gap limit of 99999 need more than"):
        export_public_keys(
            KEYS, "regtest", WalletMetadata("regtest", next_receive=2, gap_limit=99_999), 1
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "other"}, "no 'format'"),
        ({"version": 2}, "version 2"),
        ({"account": -1}, "'account' is not an index"),
        ({"receive": []}, "not a list of 1 to"),
        ({"change": ["zz"]}, "not a 32-byte public key"),
        ({"change": ["00" * 31]}, "not a 32-byte public key"),
    ],
)
def test_a_bad_watch_file_is_named(change: dict[str, Any], message: str) -> None:
    document = json.loads(export_public_keys(KEYS, "regtest", WalletMetadata("regtest"), 2))
    document.update(change)
    with pytest.raises(KeystoreCorrupt, match=message):
        parse_watch_file(json.dumps(document).encode(), "keys.json")
    with pytest.raises(KeystoreCorrupt, match="not JSON"):
        parse_watch_file(b"\xff{", "keys.json")


def test_a_watch_wallet_is_made_once_and_for_its_network(tmp_path: Path) -> None:
    exported = export_public_keys(KEYS, "regtest", WalletMetadata("regtest"), 5)
    where = location(tmp_path, "watch")
    with pytest.raises(WalletError, match="is for regtest, not test"):
        create_watch_wallet(where.paths, TEST.name, exported, "keys.json")
    create_watch_wallet(where.paths, "regtest", exported, "keys.json")
    assert is_watch_only(where) and check_wallet(where) is None
    assert where.paths.watch.stat().st_mode & 0o777 == 0o600
    with pytest.raises(WalletExists):
        create_watch_wallet(where.paths, "regtest", exported, "keys.json")
    with pytest.raises(WatchOnlyWallet, match="no keystore"):
        keystore_info(where)


async def test_the_watch_only_wallet_sees_and_builds_what_the_keys_would(
    tmp_path: Path,
) -> None:
    node, session = funded(tmp_path)
    watch = watch_wallet(tmp_path, node)
    assert watch.watch_only and not session.watch_only
    seen = await watch.sync()
    assert seen.balance == (await session.sync()).balance
    with pytest.raises(WatchOnlyWallet, match="no private keys"):
        await watch.send(OTHER.address(), COIN, 2)
    with pytest.raises(WatchOnlyWallet):
        await watch.send_many([(OTHER.address(), COIN)], 2, dry_run=True)
    assert node.broadcasts == []

    draft = await watch.send_many([(OTHER.address(), 3 * COIN)], 2, unsigned=True)
    assert draft.unsigned_file is not None and node.broadcasts == []
    assert reopen_watch(watch, node).metadata.next_change == 1  # the change key is spent
    txfile = parse_tx_file(draft.unsigned_file, "tx.json", REGTEST)
    assert not txfile.signed and txfile.tx.txid == draft.txid and txfile.fee == draft.fee

    checked, signed_bytes = sign_file(txfile, session.keychain, REGTEST)
    assert checked.fee_rate >= 2
    signed = parse_tx_file(signed_bytes, "signed.json", REGTEST)
    assert signed.signed and signed.tx.txid == draft.txid and signed.tx.size == draft.size
    message = sighash(signed.tx, signed.spent_outputs, REGTEST.chain_id)
    for witness in signed.tx.witnesses:
        verify_signature(witness.pubkey, witness.signature, message)

    # a second unsigned draft gets a fresh change key; broadcasting the first reserves coins
    await broadcast_checked(reopen_watch(watch, node), check_against(signed, watch.keychain))
    assert [tx.txid for tx in node.broadcasts] == [draft.txid]
    meta = reopen_watch(watch, node).metadata
    assert [p.txid for p in meta.pending] == [draft.txid] and meta.next_change == 1

    # a fee bump the same way: unsigned from the watch-only wallet, replacing the pending send
    with pytest.raises(WatchOnlyWallet):
        await reopen_watch(watch, node).bump(draft.txid, 5)
    bump = await reopen_watch(watch, node).bump(draft.txid, 5, unsigned=True)
    assert bump.unsigned_file is not None and bump.to_json()["unsigned"] is True
    bumped = parse_tx_file(bump.unsigned_file, "bump.json", REGTEST)
    assert bumped.replaces == draft.txid and bumped.tx.txid == bump.txid
    _checked, bump_signed = sign_file(bumped, session.keychain, REGTEST)
    replacement = parse_tx_file(bump_signed, "bump-signed.json", REGTEST)
    await broadcast_checked(reopen_watch(watch, node), check_against(replacement, watch.keychain))
    assert [tx.txid for tx in node.mempool] == [bump.txid]
    meta = reopen_watch(watch, node).metadata
    assert [(p.txid, p.replaces) for p in meta.pending] == [(bump.txid, draft.txid)]
    node.mine()
    assert (await reopen(session, node).sync()).balance == (
        await reopen_watch(watch, node).sync()
    ).balance


def reopen_watch(session: WalletSession, node: FakeNode) -> WalletSession:
    return WalletSession.open_watch(session.location, node)


async def test_the_signer_refuses_what_is_not_its_own(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    watch = watch_wallet(tmp_path, node)
    draft = await watch.send_many([(OTHER.address(), COIN)], 2, unsigned=True)
    assert draft.unsigned_file is not None
    document = json.loads(draft.unsigned_file)
    with pytest.raises(WalletError, match="a watch-only wallet has no private keys"):
        sign_file(parse_tx_file(draft.unsigned_file, "f", REGTEST), watch.keychain, REGTEST)

    def refused(change: dict[str, Any], error: type[Exception], message: str) -> None:
        raw = json.dumps({**document, **change}).encode()
        with pytest.raises(error, match=message):
            sign_file(parse_tx_file(raw, "tx.json", REGTEST), session.keychain, REGTEST)

    first = document["inputs"][0]
    refused({"network": "test"}, InvalidInput, "is for 'test', not regtest")
    refused({"format": "psbt"}, InvalidInput, "no 'format'")
    refused({"tx": "00"}, InvalidInput, "'tx' is not a transaction")
    refused({"inputs": []}, InvalidInput, "does not list the transaction's inputs")
    refused({"inputs": [dict(first, outpoint="00" * 32 + ":0")]}, InvalidInput, "expected")
    refused({"inputs": [dict(first, value=0)]}, InvalidInput, "positive integer 'value'")
    refused({"inputs": [dict(first, path="m/0'")]}, InvalidInput, "is not m/44'")
    refused({"inputs": [dict(first, path="m/44'/8888'/0'/0'/5'")]}, WalletError, "not this")
    refused({"inputs": [dict(first, path="m/44'/8888'/1'/0'/0'")]}, InvalidInput, "account")
    refused({"change": {"vout": 9, "path": "m/44'/8888'/0'/1'/0'"}}, InvalidInput, "not exist")
    vout = document["change"]["vout"]
    other_key = {"vout": vout, "path": "m/44'/8888'/0'/1'/3'"}
    refused({"change": other_key}, WalletError, f"output {vout} is not this wallet's change")
    with pytest.raises(InvalidInput, match="not JSON"):
        parse_tx_file(b"[", "tx.json", REGTEST)
    with pytest.raises(InvalidInput, match="larger than"):
        parse_tx_file(b" " * (4 * 1024 * 1024 + 1), "tx.json", REGTEST)


async def test_a_watch_only_wallet_pays_for_a_slow_parent_unsigned(tmp_path: Path) -> None:
    node = FakeNode()
    ours, _parent_fee, _size = slow_payment(node, 2 * COIN, 250)
    keys = new_wallet(tmp_path, node)
    watch = watch_wallet(tmp_path, node)
    with pytest.raises(WatchOnlyWallet):
        await watch.cpfp(ours.txid, 12)
    draft = await reopen_watch(watch, node).cpfp(ours.txid, 12, unsigned=True)
    assert draft.unsigned_file is not None and draft.to_json()["unsigned"] is True
    assert len(node.mempool) == 1  # only the parent
    txfile = parse_tx_file(draft.unsigned_file, "child.json", REGTEST)
    assert txfile.sweep and txfile.change is not None and txfile.change[0] == 0
    _checked, signed = sign_file(txfile, keys.keychain, REGTEST)
    child = parse_tx_file(signed, "child-signed.json", REGTEST)
    await broadcast_checked(reopen_watch(watch, node), check_against(child, watch.keychain))
    assert node.mempool[-1].txid == draft.txid
    meta = reopen_watch(watch, node).metadata
    assert [(p.txid, p.sweep) for p in meta.pending] == [(draft.txid, True)]
    assert meta.next_change == 1
