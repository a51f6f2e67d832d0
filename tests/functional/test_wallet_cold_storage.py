"""Cold storage through the CLI against a real regtest node (Electrum's watch-only wallet and
offline signing; Core's PSBT flow): the wallet with the keys exports its public keys, a
watch-only wallet made of them follows the same coins and makes an unsigned transaction, the
wallet with the keys checks and signs it without a node, the watch-only wallet broadcasts it.
Whatever is wrong on the way is one ``error:`` line and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from consensus.transaction import COIN
from tests.framework.factory import Key
from tests.functional.test_wallet_support import (
    Wallet,
    assert_one_line_error,
    created_wallets,
    run_node,
)

SUBSIDY = 50 * COIN
ELSEWHERE = Key.from_index(99).address()


def test_watch_only_wallet_and_offline_signing(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        cold, bob = created_wallets(tmp_path, node, "cold", "bob")
        node.generate(101, cold.address())
        keys_file = tmp_path / "public-keys.json"
        cold.run("export-watch", str(keys_file), "--count", "30")
        assert_one_line_error(
            cold.run("export-watch", str(keys_file), check=False), "already exists"
        )
        online = Wallet(tmp_path / "online", node)
        made = online.json("import-watch", str(keys_file))
        assert made["watch_only"] and (made["receive_keys"], made["change_keys"]) == (30, 30)
        assert_one_line_error(
            online.run("import-watch", str(keys_file), check=False), "already exists"
        )
        assert online.json("info")["watch_only"] is True
        assert online.json("info")["kdf"] is None
        kinds = {w["name"]: w["watch_only"] for w in online.json("list")["wallets"]}
        assert kinds == {"default": True}
        backup = online.json("backup", str(tmp_path / "online-backup"))
        assert sorted(backup["files"]) == ["wallet.json", "watch.json"]

        # the same coins and history, no password; the next address is the cold wallet's next
        assert online.json("balance") == cold.json("balance")
        assert online.json("history") == cold.json("history")
        assert online.address() == cold.json("address", "--index", "1")["address"]

        # what needs the keys is refused, naming the way
        bob_address = bob.address()
        for args, fragment in (
            (("send", bob_address, "1"), "watch-only"),
            (("send", bob_address, "1", "--dry-run"), "watch-only"),
            (("sign-message", made["next_address"], "hello"), "watch-only"),
            (("password",), "watch-only"),
            (("seed",), "watch-only"),
            (("address", "--index", "30"), "export more"),
        ):
            assert_one_line_error(online.run(*args, check=False), fragment)
        assert node.mempool() == []

        # an unsigned transaction from the watch-only wallet
        unsigned = tmp_path / "unsigned.json"
        before = online.state_hash()
        draft = online.json("send", bob_address, "12.5", "--unsigned", str(unsigned))
        assert draft["unsigned"] is True and node.mempool() == []
        assert online.state_hash() != before  # the change index moved on, nothing else
        document = json.loads(unsigned.read_text())
        assert document["signed"] is False and document["txid"] == draft["txid"]
        assert_one_line_error(online.run("broadcast", str(unsigned), check=False), "not signed")

        # only the wallet with the keys signs it, and it checks what it signs
        assert_one_line_error(
            bob.run("sign", str(unsigned), str(tmp_path / "bob.json"), check=False),
            "not this wallet's",
        )
        assert_one_line_error(
            online.run("sign", str(unsigned), str(tmp_path / "w.json"), check=False),
            "watch-only",
        )
        stolen = dict(
            document, change={"vout": document["change"]["vout"], "path": "m/44'/8888'/0'/1'/9'"}
        )
        tampered = tmp_path / "tampered.json"
        tampered.write_text(json.dumps(stolen))
        assert_one_line_error(
            cold.run("sign", str(tampered), str(tmp_path / "t.json"), check=False),
            "is not this wallet's change",
        )
        assert not (tmp_path / "t.json").exists()

        # a file that lies about a spent value gets a signature the node refuses (a big lie
        # shows as an absurd fee, and the signer refuses it)
        huge = dict(document["inputs"][0], value=document["inputs"][0]["value"] + COIN)
        (tmp_path / "huge.json").write_text(json.dumps(dict(document, inputs=[huge])))
        assert_one_line_error(
            cold.run("sign", str(tmp_path / "huge.json"), str(tmp_path / "h.json"), check=False),
            "units per byte, above 100000: refusing",
        )
        first = dict(document["inputs"][0], value=document["inputs"][0]["value"] + 1_000)
        liar = dict(document, inputs=[first, *document["inputs"][1:]])
        lying = tmp_path / "lying.json"
        lying.write_text(json.dumps(liar))
        cold.run("sign", str(lying), str(tmp_path / "lying-signed.json"))
        state = online.state_hash()
        assert_one_line_error(
            online.run("broadcast", str(tmp_path / "lying-signed.json"), check=False)
        )
        assert online.state_hash() == state and node.mempool() == []

        signed_path = tmp_path / "signed.json"
        signed = cold.json("sign", str(unsigned), str(signed_path))
        assert signed["txid"] == draft["txid"] and signed["fee"] == draft["fee"]
        paid = [o for o in signed["outputs"] if o["address"] == bob_address]
        assert [o["value"] for o in paid] == [1_250_000_000]
        assert sum(o["change"] for o in signed["outputs"]) == 1

        online.json("broadcast", str(signed_path))
        assert node.mempool() == [draft["txid"]]
        pending = online.json("history")["transactions"][0]
        assert pending["txid"] == draft["txid"] and pending["status"] == "unconfirmed"

        # a fee bump the same way: unsigned, signed offline, replacing the pending send
        bump_file = tmp_path / "bump.json"
        bump = online.json("bump", draft["txid"], "--fee-rate", "5", "--unsigned", str(bump_file))
        assert bump["unsigned"] and bump["replaces"] == draft["txid"]
        assert node.mempool() == [draft["txid"]]
        cold.run("sign", str(bump_file), str(tmp_path / "bump-signed.json"))
        online.json("broadcast", str(tmp_path / "bump-signed.json"))
        assert node.mempool() == [bump["txid"]]

        node.generate(1, ELSEWHERE)
        assert bob.json("balance")["confirmed"] == 1_250_000_000
        balance = online.json("balance")
        assert balance == cold.json("balance")
        assert balance["confirmed"] == 101 * SUBSIDY - 1_250_000_000 - bump["fee"]
        # the same history; the watch-only wallet, which made the bump, knows what it replaced
        online_history, cold_history = online.json("history"), cold.json("history")
        newest = online_history["transactions"][0]
        assert newest["txid"] == bump["txid"] and newest["replaces"] == draft["txid"]
        newest["replaces"] = None
        assert online_history == cold_history
