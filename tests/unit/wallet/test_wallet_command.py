"""``seedchain wallet`` and ``seedchain mine`` in-process: help, environment defaults, secrets
from files, one-line errors. (The end-to-end runs against a node are in tests/functional.)"""

from __future__ import annotations

import io
import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from mnemonic import Mnemonic

from seedchain.cli import COMMANDS, build_parser, main
from seedchain.cmd_wallet import read_secret_file

SUBCOMMANDS = [
    "create",
    "restore",
    "address",
    "balance",
    "send",
    "bump",
    "history",
    "utxos",
    "password",
    "label",
    "backup",
    "freeze",
    "unfreeze",
    "sign-message",
    "verify-message",
    "info",
    "tx",
    "addresses",
    "cpfp",
    "list",
    "cancel",
    "export-watch",
    "import-watch",
    "sign",
    "broadcast",
    "abandon",
    "seed",
]


def unreachable() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(autouse=True)
def _no_seedchain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SEEDCHAIN_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("command", [[], *[[c] for c in SUBCOMMANDS]])
def test_every_subcommand_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["wallet", *command, "--help"])
    assert info.value.code == 0
    assert "usage: seedchain wallet" in capsys.readouterr().out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: seedchain {command}" in capsys.readouterr().out


def test_mine_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["mine", "--help"])
    assert info.value.code == 0
    assert "--blocks" in capsys.readouterr().out


def test_options_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDCHAIN_NETWORK", "regtest")
    monkeypatch.setenv("SEEDCHAIN_DATADIR", "/tmp/somewhere")
    monkeypatch.setenv("SEEDCHAIN_WALLET", "savings")
    monkeypatch.setenv("SEEDCHAIN_NODE", "http://127.0.0.1:1")
    monkeypatch.setenv("SEEDCHAIN_PASSWORD_FILE", "/tmp/pw")
    monkeypatch.setenv("SEEDCHAIN_JSON", "1")
    monkeypatch.setenv("SEEDCHAIN_FEE_RATE", "7")
    args = build_parser().parse_args(["wallet", "send", "rsc1x", "1"])
    assert (args.network, args.datadir, args.wallet, args.node) == (
        "regtest",
        "/tmp/somewhere",
        "savings",
        "http://127.0.0.1:1",
    )
    assert (args.password_file, args.json, args.fee_rate) == ("/tmp/pw", True, "7")
    monkeypatch.setenv("SEEDCHAIN_MINE_TO", "rsc1y")
    monkeypatch.setenv("SEEDCHAIN_MINE_BLOCKS", "3")
    monkeypatch.setenv("SEEDCHAIN_MINE_THREADS", "2")
    args = build_parser().parse_args(["mine"])
    assert (args.to, args.blocks, args.threads, args.node) == ("rsc1y", 3, 2, "http://127.0.0.1:1")


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["wallet", "send"],
        ["wallet", "balance", "--bogus"],
        ["wallet", "--json", "balance"],
        ["wallet", "frobnicate"],
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), err


def test_secret_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b" pass word \n\n")
    assert read_secret_file(str(path), "password") == " pass word \n"  # one newline only
    path.write_bytes(b"crlf\r\n")
    assert read_secret_file(str(path), "password") == "crlf"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"from stdin\n")))
    assert read_secret_file("-", "password") == "from stdin"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(Exception, match="not UTF-8") as info:
        read_secret_file(str(path), "password")
    assert "\xff" not in str(info.value)
    with pytest.raises(Exception, match=r"the password file .* cannot be read"):
        read_secret_file(str(tmp_path / "missing"), "password")


def wallet(tmp_path: Path, *args: str) -> list[str]:
    return [
        "wallet",
        "--network",
        "regtest",
        "--datadir",
        str(tmp_path),
        "--node",
        unreachable(),
        *args,
    ]


def string_values(node: object) -> list[str]:
    """Every string value in a decoded JSON document; keys are left out."""
    if isinstance(node, dict):
        return [s for value in node.values() for s in string_values(value)]
    if isinstance(node, list):
        return [s for value in node for s in string_values(value)]
    return [node] if isinstance(node, str) else []


def assert_encrypted(keystore: str, mnemonic: str) -> None:
    """Neither the phrase, its entropy nor any of its words is stored in the clear.

    Keys are not compared: a key such as "salt" is itself a BIP39 word.
    """
    values = string_values(json.loads(keystore))
    entropy = bytes(Mnemonic("english").to_entropy(mnemonic)).hex()
    assert not any(entropy in value for value in values)
    assert not set(mnemonic.split()) & set(values)
    assert mnemonic not in keystore


def test_create_then_info_without_a_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = tmp_path / "pw"
    password.write_text("secret\n")
    assert main(wallet(tmp_path, "create", "--password-file", str(password), "--json")) == 0
    created = json.loads(capsys.readouterr().out)
    assert len(created["mnemonic"].split()) == 24 and "warning" in created
    keystore = (tmp_path / "wallets" / "default" / "keystore.json").read_text()
    assert_encrypted(keystore, created["mnemonic"])

    assert main(wallet(tmp_path, "info", "--json")) == 0  # no password needed
    info = json.loads(capsys.readouterr().out)
    assert info["network"] == "regtest" and info["tip_height"] is None
    assert "cannot reach the node" in info["node_error"]

    # the same wallet name again: refused, before any password is asked
    assert main(wallet(tmp_path, "create")) == 1
    assert "already exists" in capsys.readouterr().err

    # the wallet is for regtest: asking for it on test is a clear error
    argv = ["wallet", "--network", "test", "--datadir", str(tmp_path), "balance"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "is for regtest, not test" in err and len(err.strip().splitlines()) == 1


def created(tmp_path: Path, datadir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A wallet created in ``datadir`` with the password in a file; that file."""
    password = tmp_path / "pw"
    password.write_text("secret\n")
    assert main(wallet(datadir, "create", "--password-file", str(password))) == 0
    capsys.readouterr()
    return password


def json_of(datadir: Path, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    """A wallet command's ``--json`` output (it must succeed)."""
    assert main(wallet(datadir, *args, "--json")) == 0
    return json.loads(capsys.readouterr().out)


def test_password_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new, wrong = tmp_path / "old", tmp_path / "new", tmp_path / "wrong"
    old.write_text("old secret\n")
    new.write_text("new secret\n")
    wrong.write_text("not it\n")
    assert main(wallet(tmp_path, "create", "--password-file", str(old), "--json")) == 0
    mnemonic = json.loads(capsys.readouterr().out)["mnemonic"]
    keystore = tmp_path / "wallets" / "default" / "keystore.json"

    def first_address(password: Path) -> int | str:
        code = main(wallet(tmp_path, "address", "--index", "0", "--password-file", str(password)))
        out, err = capsys.readouterr()
        return out.strip() if code == 0 else err.strip()

    address = first_address(old)
    before = keystore.read_bytes()
    # refused, with the file untouched: a wrong old password, the same password, an empty one,
    # and both passwords from standard input
    refusals = [
        (["--password-file", str(wrong), "--new-password-file", str(new)], "wrong password"),
        (["--password-file", str(old), "--new-password-file", str(old)], "same as the old"),
        (["--password-file", str(old), "--new-password-file", str(tmp_path / "nul")], "empty"),
        (["--password-file", "-", "--new-password-file", "-"], "standard input"),
    ]
    (tmp_path / "nul").write_text("")
    for args, message in refusals:
        assert main(wallet(tmp_path, "password", *args)) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
        assert keystore.read_bytes() == before

    args = ["--password-file", str(old), "--new-password-file", str(new), "--json"]
    assert main(wallet(tmp_path, "password", *args)) == 0
    assert json.loads(capsys.readouterr().out) == {"wallet": "default", "password_changed": True}
    after = keystore.read_text()
    assert keystore.stat().st_mode & 0o777 == 0o600
    assert_encrypted(after, mnemonic)
    assert first_address(new) == address  # the same keys under the new password
    assert "wrong password" in str(first_address(old))


def test_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    password = created(tmp_path, tmp_path, capsys)

    def run_json(*args: str) -> Any:
        return json_of(tmp_path, capsys, *args)

    assert run_json("label") == {"labels": {}}
    fresh = run_json("address", "--label", "from Bob", "--password-file", str(password))
    assert fresh["label"] == "from Bob"
    txid = "CD" * 32
    assert run_json("label", txid, "rent") == {"target": txid.lower(), "label": "rent"}
    assert run_json("label", txid) == {"target": txid.lower(), "label": "rent"}
    assert run_json("label") == {"labels": {fresh["address"]: "from Bob", txid.lower(): "rent"}}
    assert run_json("label", txid, "") == {"target": txid.lower(), "label": None}
    assert run_json("label") == {"labels": {fresh["address"]: "from Bob"}}

    metadata = tmp_path / "wallets" / "default" / "wallet.json"
    before = metadata.read_bytes()
    for args, message in [
        (["label", "rsc1notanaddress", "x"], "invalid address"),
        (["label", txid, "line\nbreak"], "control characters"),
        (["label", txid, "x" * 201], "at most 200"),
        (["address", "--index", "0", "--label", "x"], "--label goes with a fresh address"),
    ]:
        assert main(wallet(tmp_path, *args, "--password-file", str(password))) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert metadata.read_bytes() == before


def test_backup_and_restore_by_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    password = created(tmp_path, home, capsys)
    assert main(wallet(home, "label", "ab" * 32, "rent")) == 0
    capsys.readouterr()
    first = ["address", "--index", "0", "--password-file", str(password)]
    assert main(wallet(home, *first)) == 0
    address = capsys.readouterr().out.strip()

    saved = tmp_path / "usb" / "seedchain"
    assert main(wallet(home, "backup", str(saved), "--json")) == 0
    assert json.loads(capsys.readouterr().out) == {
        "directory": str(saved), "files": ["keystore.json", "wallet.json"],
    }  # fmt: skip
    original = home / "wallets" / "default"
    for name in ("keystore.json", "wallet.json"):
        assert (saved / name).read_bytes() == (original / name).read_bytes()
        assert (saved / name).stat().st_mode & 0o777 == 0o600
    assert main(wallet(home, "backup", str(saved))) == 1  # never overwrites
    assert "already exists" in capsys.readouterr().err

    elsewhere = tmp_path / "other"  # restore: the directory copied into place
    (elsewhere / "wallets").mkdir(parents=True)
    shutil.copytree(saved, elsewhere / "wallets" / "default")
    assert main(wallet(elsewhere, *first)) == 0
    assert capsys.readouterr().out.strip() == address
    assert main(wallet(elsewhere, "label", "--json")) == 0
    assert json.loads(capsys.readouterr().out) == {"labels": {"ab" * 32: "rent"}}


def test_freeze_and_unfreeze(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    created(tmp_path, tmp_path, capsys)

    def run_json(*args: str) -> Any:
        return json_of(tmp_path, capsys, *args)

    address = "rsc1qdnmeslntr5vzpnf8h7yhpmfshhm0hgrsa3jmuw"
    outpoint = "CD" * 32 + ":3"
    assert run_json("freeze") == {"frozen": []}
    assert run_json("freeze", address, outpoint) == {
        "frozen": sorted([address, outpoint.lower()])
    }
    assert run_json("unfreeze", outpoint) == {"frozen": [address]}
    metadata = tmp_path / "wallets" / "default" / "wallet.json"
    before = metadata.read_bytes()
    for args, message in [
        (["freeze", "cd:3"], "TXID:VOUT"),
        (["freeze", address, "rsc1nope"], "invalid address"),
        (["unfreeze"], "at least one"),
    ]:
        assert main(wallet(tmp_path, *args)) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert metadata.read_bytes() == before


def test_sign_and_verify_messages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    password = created(tmp_path, tmp_path, capsys)
    assert main(wallet(tmp_path, "address", "--password-file", str(password))) == 0
    capsys.readouterr()
    assert main(wallet(tmp_path, "address", "--password-file", str(password), "--json")) == 0
    address = json.loads(capsys.readouterr().out)["address"]

    sign = ["sign-message", address, "I own this", "--password-file", str(password), "--json"]
    assert main(wallet(tmp_path, *sign)) == 0
    signature = json.loads(capsys.readouterr().out)["signature"]
    # verifying needs no wallet: another datadir, no password
    elsewhere = tmp_path / "elsewhere"
    assert main(wallet(elsewhere, "verify-message", address, signature, "I own this")) == 0
    assert capsys.readouterr().out.strip() == "valid"
    assert main(wallet(elsewhere, "verify-message", address, signature, "I own that")) == 1
    err = capsys.readouterr().err
    assert "does not verify" in err and len(err.strip().splitlines()) == 1
    args = ["verify-message", address, signature, "I own that", "--json"]
    assert main(wallet(elsewhere, *args)) == 1
    assert json.loads(capsys.readouterr().out) == {"address": address, "valid": False}

    stranger = "rsc1qdnmeslntr5vzpnf8h7yhpmfshhm0hgrsa3jmuw"  # valid, not this wallet's
    for args, message in [
        (["sign-message", stranger, "hi"], "not one of this wallet's"),
        (["sign-message", "rsc1bad", "hi"], "invalid address"),
        (["verify-message", address, "!!", "hi"], "not base64"),
    ]:
        assert main(wallet(tmp_path, *args, "--password-file", str(password))) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_no_password_and_no_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(wallet(tmp_path, "create")) == 1
    assert "--password-file" in capsys.readouterr().err
    assert not (tmp_path / "wallets").exists()


def test_seed_shows_the_phrase_again_only_with_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = tmp_path / "pw"
    password.write_text("secret\n")
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n")
    mnemonic = json_of(tmp_path, capsys, "create", "--password-file", str(password))["mnemonic"]
    shown = json_of(tmp_path, capsys, "seed", "--password-file", str(password))
    assert shown["mnemonic"] == mnemonic and shown["words"] == 24
    assert shown["passphrase"] == "" and "warning" in shown
    assert main(wallet(tmp_path, "seed", "--password-file", str(password))) == 0
    out = capsys.readouterr().out
    words = mnemonic.split()
    assert f" 1. {words[0]}" in out and f"24. {words[23]}" in out and "Passphrase" not in out

    assert main(wallet(tmp_path, "seed", "--password-file", str(wrong))) == 1
    out, err = capsys.readouterr()
    assert out == "" and "wrong password" in err and len(err.strip().splitlines()) == 1

    # a phrase restored with a BIP 39 passphrase shows both
    phrase, extension = tmp_path / "phrase", tmp_path / "extension"
    phrase.write_text(mnemonic + "\n")
    extension.write_text("my extension\n")
    other = tmp_path / "other"
    argv = ["restore", "--no-scan", "--mnemonic-file", str(phrase), "--passphrase-file"]
    assert main(wallet(other, *argv, str(extension), "--password-file", str(password))) == 0
    capsys.readouterr()
    shown = json_of(other, capsys, "seed", "--password-file", str(password))
    assert (shown["mnemonic"], shown["passphrase"]) == (mnemonic, "my extension")
    assert main(wallet(other, "seed", "--password-file", str(password))) == 0
    assert "Passphrase (BIP 39 extension, needed with the words): my extension" in (
        capsys.readouterr().out
    )

    # a missing wallet: one line, before any prompt
    assert main(wallet(tmp_path / "nowhere", "seed")) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_restore_refuses_a_bad_phrase_before_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("legal winner thank year wave sausage worth useful legal winner thank zoo\n")
    password = tmp_path / "pw"
    password.write_text("pw\n")
    code = main(
        wallet(
            tmp_path, "restore", "--mnemonic-file", str(phrase), "--password-file", str(password)
        )
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "checksum" in err and "zoo" not in err
    assert not (tmp_path / "wallets").exists()


def test_mine_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mine", "--network", "regtest"]) == 1
    assert "--to" in capsys.readouterr().err
    url = unreachable()
    assert main(["mine", "--node", url, "--to", "rsc1x", "--blocks", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot reach the node") and url in err
    assert main(["mine", "--node", "ftp://x", "--to", "rsc1x"]) == 1
    assert "invalid node URL" in capsys.readouterr().err


def test_history_csv_rows(capsys: pytest.CaptureFixture[str]) -> None:
    from seedchain.wallet_commands_chain import CSV_COLUMNS, _print_csv

    shown: list[dict[str, Any]] = [
        {"txid": "aa" * 32, "status": "unconfirmed", "height": None, "confirmations": 0,
         "block_time": None, "net": -150_000_123, "fee": 123, "label": "=HYPERLINK(\"x\")"},
        {"txid": "bb" * 32, "status": "confirmed", "height": 7, "confirmations": 3,
         "block_time": 1_700_000_000, "net": 5_000_000_000, "fee": None, "label": None},
    ]  # fmt: skip
    _print_csv(shown)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert lines[1] == f'{"aa" * 32},unconfirmed,,0,,-1.50000123,0.00000123,"\'=HYPERLINK(""x"")"'
    assert lines[2] == f"{'bb' * 32},confirmed,7,3,2023-11-14T22:13:20+00:00,50,,"


def test_list_wallets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    datadir = tmp_path / "data"
    assert json_of(datadir, capsys, "list")["wallets"] == []  # no wallets directory yet
    password = created(tmp_path, datadir, capsys)
    argv = [*wallet(datadir, "--wallet", "savings"), "create", "--password-file", str(password)]
    assert main(argv) == 0
    capsys.readouterr()
    (datadir / "wallets" / "broken").mkdir()
    (datadir / "wallets" / "broken" / "keystore.json").write_text("{not json")
    (datadir / "wallets" / "empty").mkdir()  # no keystore: not a wallet
    listed = json_of(datadir, capsys, "list")["wallets"]
    names = [(w["name"], w["network"]) for w in listed]
    assert names[:1] == [("broken", None)] and ("default", "regtest") in names
    assert ("savings", "regtest") in names
    assert "empty" not in [w["name"] for w in listed]
    assert next(w for w in listed if w["name"] == "broken")["error"]
