"""The wallet through its CLI against a real regtest node process (``seedchain node``).

- wallet A mines 101 blocks with ``seedchain mine``, pays 12.5 coins to wallet B; after one
  more block B has exactly 12.5 and A exactly the rest minus the fee it printed; A restored
  from its phrase into an empty datadir has the same balance and history;
- bad input (wrong password, a truncated or altered keystore, bad addresses, too many
  decimals, more than the balance, no node): one ``error:`` line, a non-zero exit, nothing
  sent and nothing changed on disk.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from consensus.params import REGTEST, ChainParams
from consensus.transaction import COIN, Transaction
from tests.framework.factory import Key
from tests.framework.util import free_port
from tests.functional.test_wallet_support import (
    Wallet,
    assert_one_line_error,
    mine,
    run_node,
)
from wallet.amounts import format_amount

SUBSIDY = 50 * COIN
ELSEWHERE = Key.from_index(99).address()  # mines the confirming blocks: fees stay visible


def test_send_receive_and_restore(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        alice = Wallet(tmp_path / "alice", node)
        bob = Wallet(tmp_path / "bob", node)
        mnemonic = alice.create()
        assert len(mnemonic.split()) == 24
        bob.create()
        alice_address = alice.address()
        bob_address = bob.address()
        assert alice.json("address", "--index", "0")["address"] == alice_address
        assert alice.json("address")["address"] != alice_address  # a fresh one each time

        blocks = mine(node, alice_address, 101)
        assert [b["height"] for b in blocks] == list(range(1, 102))
        assert {b["status"] for b in blocks} == {"connected"}

        balance = alice.json("balance")
        assert balance["confirmed"] == 101 * SUBSIDY
        assert balance["immature"] == 99 * SUBSIDY  # heights 3..101 have < 100 confirmations
        assert balance["spendable"] == 2 * SUBSIDY
        assert balance["unconfirmed"] == 0

        sent = alice.json("send", bob_address, "12.5")
        fee = sent["fee"]
        assert sent["amount"] == 1_250_000_000 and 0 < fee < 10_000
        assert node.mempool() == [sent["txid"]]
        pending = bob.json("balance")
        assert (pending["confirmed"], pending["unconfirmed"]) == (0, 1_250_000_000)

        node.generate(1, ELSEWHERE)
        bob_balance = bob.json("balance")
        assert bob_balance["confirmed"] == 1_250_000_000 == bob_balance["total"]
        assert bob_balance["unconfirmed"] == 0
        alice_balance = alice.json("balance")
        assert alice_balance["confirmed"] == 101 * SUBSIDY - 1_250_000_000 - fee
        assert alice_balance["unconfirmed"] == 0
        # tip 102: heights 1..3 are mature, one of them paid 12.5 and the fee
        assert alice_balance["spendable"] == 3 * SUBSIDY - 1_250_000_000 - fee
        human = alice.run("balance").stdout
        assert format_amount(alice_balance["confirmed"]) in human
        assert f"{format_amount(101 * SUBSIDY - 1_250_000_000 - fee)}" in human

        history = alice.json("history")
        assert history["tip_height"] == 102
        first = history["transactions"][0]
        assert first["txid"] == sent["txid"] and first["status"] == "confirmed"
        assert first["confirmations"] == 1 and first["fee"] == fee
        assert first["net"] == -(1_250_000_000 + fee)
        assert len(history["transactions"]) == 102
        bob_history = bob.json("history")["transactions"]
        assert [(t["txid"], t["net"]) for t in bob_history] == [(sent["txid"], 1_250_000_000)]

        # restore into an empty datadir: the same balance and history
        restored = Wallet(tmp_path / "restored", node)
        phrase_file = tmp_path / "phrase.txt"
        phrase_file.write_text(mnemonic + "\n")
        phrase_file.chmod(0o600)
        result = restored.json("restore", "--mnemonic-file", str(phrase_file))
        assert result["next_receive"] == 1  # receive 0 used; 1 was handed out but is unused
        assert result["next_change"] == 1
        assert restored.json("balance") == alice.json("balance")
        assert restored.json("history") == alice.json("history")
        utxos = restored.json("utxos")["utxos"]
        assert sum(u["value"] for u in utxos) == alice_balance["total"]

        info = restored.json("info")
        assert info["network"] == "regtest" and info["tip_height"] == 102
        assert (info["next_receive"], info["next_change"]) == (1, 1)


def test_recipients_pay_the_fee(tmp_path: Path) -> None:
    """``send --subtract-fee`` / ``--subtract-fee-from`` (Core's ``subtractfeefromamount``):
    the recipients get the amounts less the fee, our change is whole; ``bump
    --decrease-payment`` takes the higher fee from the payments too."""
    with run_node(tmp_path) as node:
        alice, bob = Wallet(tmp_path / "alice", node), Wallet(tmp_path / "bob", node)
        alice.create()
        bob.create()
        first, second = bob.address(), bob.address()
        node.generate(101, alice.address())
        one = alice.json("send", first, "1", "--subtract-fee", "--fee-rate", "3")
        assert one["fee_from_amount"] is True and one["change"] == SUBSIDY - COIN
        assert one["amount"] + one["fee"] == COIN and one["fee"] >= 3 * one["size"]
        node.generate(1, ELSEWHERE)
        two = alice.json(
            "send", first, "2", second, "3", "--subtract-fee-from", second, "--fee-rate", "2"
        )
        amounts = {p["address"]: p["amount"] for p in two["payments"]}
        assert amounts == {first: 2 * COIN, second: 3 * COIN - two["fee"]}
        human = alice.run("send", first, "0.5", "--subtract-fee", "--dry-run").stdout
        assert "taken from the amount" in human
        # Electrum's "decrease payment": the payments pay the higher fee, the change is whole
        bump = alice.json("bump", two["txid"], "--decrease-payment", "--fee-rate", "6")
        assert bump["replaces"] == two["txid"] and node.mempool() == [bump["txid"]]
        assert bump["fee"] >= 6 * bump["size"]
        payments = tmp_path / "payments.csv"  # Electrum's "pay to many" from a file
        payments.write_text(f"address,amount\n{first},0.1\n{second},0.2\n")
        many = alice.json("send", f"@{payments}")
        assert [p["amount"] for p in many["payments"]] == [10_000_000, 20_000_000]
        node.generate(1, ELSEWHERE)
        assert bob.json("balance")["confirmed"] == (
            COIN - one["fee"] + 5 * COIN - bump["fee"] + 30_000_000
        )


def test_send_to_many_then_everything(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        alice, bob = Wallet(tmp_path / "alice", node), Wallet(tmp_path / "bob", node)
        alice.create()
        bob.create()
        bob_first, bob_second = bob.address(), bob.address()
        node.generate(102, alice.address())  # heights 1..3 mature at tip 102
        trial = alice.json("send", bob_first, "1.5", bob_second, "2.25", "--dry-run")
        assert trial["dry_run"] is True and trial["allowed"] is True  # the node's verdict
        assert node.mempool() == [] and len(trial["hex"]) == 2 * trial["size"]
        locktime = Transaction.decode(bytes.fromhex(trial["hex"])).locktime
        assert 102 - 99 <= locktime <= 102  # anti-fee-sniping: the tip, or a little less
        sent = alice.json("send", bob_first, "1.5", bob_second, "2.25")
        assert sent["dry_run"] is False and sent["fee"] == trial["fee"]
        assert [(p["address"], p["amount"]) for p in sent["payments"]] == [
            (bob_first, 150_000_000),
            (bob_second, 225_000_000),
        ]
        assert sent["amount"] == 375_000_000 and sent["address"] is None
        node.generate(1, ELSEWHERE)
        assert bob.json("balance")["confirmed"] == 375_000_000
        bob_history = bob.json("history")["transactions"]
        assert [(t["txid"], t["net"]) for t in bob_history] == [(sent["txid"], 375_000_000)]
        # labels: on a transaction (history) and on an address (its coins)
        alice.run("label", sent["txid"], "to Bob, twice")
        bob.run("label", bob_first, "first")
        assert alice.json("history")["transactions"][0]["label"] == "to Bob, twice"
        assert "to Bob, twice" in alice.run("history").stdout
        rows = list(csv.DictReader(io.StringIO(alice.run("history", "--csv").stdout)))
        row = next(r for r in rows if r["txid"] == sent["txid"])
        assert row["amount"] == "-" + format_amount(375_000_000 + sent["fee"])
        assert (row["fee"], row["label"], row["status"]) == (
            format_amount(sent["fee"]), "to Bob, twice", "confirmed",
        )  # fmt: skip
        assert row["time"].endswith("+00:00") and len(rows) == 103  # 102 coinbases and it
        coins = {u["address"]: u["label"] for u in bob.json("utxos")["utxos"]}
        assert coins == {bob_first: "first", bob_second: None}

        # a slow payment to Bob, sped up by Bob (child pays for parent)
        slow = alice.json("send", bob_second, "0.5", "--fee-rate", "1")
        child = bob.json("cpfp", slow["txid"], "--fee-rate", "8")
        assert child["parent"] == slow["txid"] and child["package_fee_rate"] >= 8
        assert sorted(node.mempool()) == sorted([slow["txid"], child["txid"]])
        node.generate(1, ELSEWHERE)
        assert node.mempool() == []
        assert bob.json("balance")["confirmed"] == 375_000_000 + 50_000_000 - child["fee"]

        spendable = alice.json("balance")["spendable"]
        human = alice.run("send", bob_first, "max", "--fee-rate", "2").stdout
        assert "taken from the amount" in human and "change" in human
        (swept,) = node.mempool()
        bump = alice.json("bump", swept, "--fee-rate", "4")  # paid from the one output
        assert bump["replaces"] == swept and node.mempool() == [bump["txid"]]
        txid = bump["txid"]
        node.generate(1, ELSEWHERE)
        after = alice.json("balance")
        # all that was spendable went; the new block matured one more coinbase (height 5)
        assert after["spendable"] == SUBSIDY and after["unconfirmed"] == 0
        received = bob.json("history")["transactions"][0]
        assert received["txid"] == txid
        assert spendable - received["net"] == bump["fee"] >= 4 * bump["size"]


def test_bad_input_changes_nothing(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        alice = Wallet(tmp_path / "alice", node)
        alice.create()
        node.generate(101, alice.address())
        before = alice.state_hash()
        wrong = tmp_path / "wrong.password"
        wrong.write_text("not the password\n")
        bob = Key.from_index(5).address()
        carol = Key.from_index(6).address()
        main_net = Key.from_index(5).address(params=_main())
        bad_checksum = bob[:-1] + ("q" if bob[-1] != "q" else "p")

        cases = [
            (("balance",), wrong, ["wrong password"]),
            (("send", bob, "1"), wrong, ["wrong password"]),
            (("send", bad_checksum, "1"), None, ["invalid address", "checksum"]),
            (("send", main_net, "1"), None, ["invalid address", "main"]),
            (("send", bob, "1.123456789"), None, ["more than 8 decimal places"]),
            (("send", bob, "-1"), None, ["invalid amount"]),
            (("send", bob, "200"), None, ["insufficient funds"]),
            (("send", bob, "1", "--fee-rate", "0.5"), None, ["fee rate"]),
            (("bump", "00" * 32), None, ["no pending send"]),
            (("send", bob, "1", bob, "2"), None, ["appears twice"]),
            (("send", bob, "1", main_net), None, ["has no amount"]),
            (("send", bob, "1", bad_checksum, "1"), None, ["invalid address", "checksum"]),
            (("send", bob, "max", carol, "1"), None, ["one address only"]),
            (("send", bob, "max", "--subtract-fee"), None, ["already takes the fee"]),
            (("send", bob, "1", "--subtract-fee-from", carol), None, ["not a recipient"]),
            (("send", bob, "1", "--subtract-fee", "--subtract-fee-from", bob), None, ["not both"]),
            (
                ("send", bob, "0.00001", "--subtract-fee", "--fee-rate", "40"),
                None,
                ["too small to pay its share"],
            ),
            (("password", "--new-password-file", str(wrong)), wrong, ["wrong password"]),
            (("address", "--index", "-1"), None, ["--index"]),
        ]
        for args, password_file, fragments in cases:
            result = alice.run(*args, password_file=password_file, check=False)
            assert_one_line_error(result, *fragments)
            assert alice.state_hash() == before, args
        assert node.mempool() == []

        unreachable = f"http://127.0.0.1:{free_port()}"
        offline = alice.run("--json", "balance", check=False)  # bad placement: usage error
        assert_one_line_error(offline)
        result = _with_node(alice, unreachable).run("send", bob, "1", check=False)
        assert_one_line_error(result, "cannot reach the node", unreachable)
        assert alice.state_hash() == before

        keystore = alice.directory / "keystore.json"
        original = keystore.read_bytes()
        keystore.write_bytes(original[: len(original) // 2])
        damaged = alice.state_hash()
        result = alice.run("balance", check=False)
        assert_one_line_error(result, "truncated or damaged")
        assert alice.state_hash() == damaged
        # one hex digit of the ciphertext changed: the checksum catches it, not "wrong password"
        text = original.decode()
        at = text.index('"ciphertext": "') + len('"ciphertext": "') + 10
        altered = text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1 :]
        keystore.write_text(altered)
        damaged = alice.state_hash()
        result = alice.run("send", bob, "1", check=False)
        assert_one_line_error(result, "corrupt")
        assert alice.state_hash() == damaged
        keystore.write_bytes(original)
        assert alice.state_hash() == before
        assert node.mempool() == []
        assert alice.json("balance")["confirmed"] == 101 * SUBSIDY


def _main() -> ChainParams:
    from consensus.params import MAIN

    return MAIN


def _with_node(wallet: Wallet, url: str) -> Wallet:
    class Other(Wallet):
        def argv(self, args, password_file=None):  # type: ignore[no-untyped-def]
            argv = super().argv(args, password_file)
            argv[argv.index("--node") + 1] = url
            return argv

    other = Other.__new__(Other)
    other.__dict__.update(wallet.__dict__)
    return other


assert REGTEST.coinbase_maturity == 100  # the numbers above rely on it
