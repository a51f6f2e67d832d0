"""``seedchain wallet send --from`` (coin control, Electrum's "Spend" from the Coins tab, Core's
``send`` with ``inputs``) and ``cancel`` (Electrum's "cancel (double-spend)") through the CLI
against a real regtest node process."""

from __future__ import annotations

from pathlib import Path

from consensus.transaction import COIN
from tests.framework.factory import Key
from tests.functional.test_wallet_support import Wallet, assert_one_line_error, run_node

SUBSIDY = 50 * COIN
ELSEWHERE = Key.from_index(97).address()


def test_send_from_named_coins_only(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        alice = Wallet(tmp_path / "alice", node)
        alice.create()
        mined_to = alice.address()
        empty = alice.address()
        bob = Key.from_index(5).address()
        node.generate(104, mined_to)  # tip 104: the coinbases of heights 1..5 are mature
        coins = {c["height"]: f"{c['txid']}:{c['vout']}" for c in alice.json("utxos")["utxos"]}

        sent = alice.json("send", bob, "1", "--from", coins[3])
        assert sent["inputs"] == [coins[3]] and sent["change"] == SUBSIDY - COIN - sent["fee"]
        swept = alice.json("send", bob, "max", "--from", coins[4], "--from", coins[5])
        assert sorted(swept["inputs"]) == sorted([coins[4], coins[5]])
        assert swept["change"] is None and swept["amount"] == 2 * SUBSIDY - swept["fee"]
        by_address = alice.json("send", bob, "1", "--from", mined_to, "--dry-run")
        assert by_address["inputs"] and by_address["dry_run"] and by_address["allowed"]

        assert_one_line_error(
            alice.run("send", bob, "1", "--from", coins[60], check=False),
            f"coin {coins[60]} is a coinbase output not mature yet",
        )
        assert_one_line_error(
            alice.run("send", bob, "1", "--from", coins[3], check=False),
            f"coin {coins[3]} is not an unspent coin of this wallet",  # spent above
        )
        assert_one_line_error(
            alice.run("send", bob, "1", "--from", empty, check=False),
            f"address {empty} has no coin to spend now",
        )
        assert_one_line_error(
            alice.run("send", bob, "60", "--from", coins[2], check=False), "insufficient"
        )
        assert_one_line_error(
            alice.run("send", bob, "1", "--from", "nonsense:x", check=False), "invalid outpoint"
        )
        alice.run("freeze", coins[1])
        assert_one_line_error(
            alice.run("send", bob, "1", "--from", coins[1], check=False),
            f"coin {coins[1]} is frozen",
        )
        node.generate(1, ELSEWHERE)
        history = alice.json("history")["transactions"]
        assert {t["txid"] for t in history if t["status"] == "confirmed"} >= {
            sent["txid"],
            swept["txid"],
        }


def test_cancel_an_unconfirmed_send(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        alice = Wallet(tmp_path / "alice", node)
        alice.create()
        node.generate(101, alice.address())
        bob = Key.from_index(6)
        before = alice.json("balance")["confirmed"]
        sent = alice.json("send", bob.address(), "7", "--fee-rate", "2")
        cancel = alice.json("cancel", sent["txid"])
        assert cancel["replaces"] == sent["txid"] and cancel["fee"] > sent["fee"]
        assert node.mempool() == [cancel["txid"]]
        assert_one_line_error(alice.run("cancel", sent["txid"], check=False), "no pending send")
        again = alice.json("bump", cancel["txid"])  # a cancel is a one-output send: bumpable
        assert again["replaces"] == cancel["txid"] and node.mempool() == [again["txid"]]
        node.generate(1, ELSEWHERE)
        assert alice.json("balance")["confirmed"] == before - again["fee"]
        assert node.get(f"/v1/address/{bob.address()}")["chain_stats"]["tx_count"] == 0
