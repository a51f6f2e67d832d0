"""``seedchain wallet tx``, ``addresses`` and payment URIs through the CLI against a real
regtest node process: a send seen from the payer and the payee, input by input and output by
output; every address with what it received and holds; a payment request paid by URI."""

from __future__ import annotations

from pathlib import Path

from consensus.transaction import COIN
from tests.framework.factory import Key
from tests.functional.test_wallet_support import (
    assert_one_line_error,
    created_wallets,
    run_node,
)

SUBSIDY = 50 * COIN
ELSEWHERE = Key.from_index(98).address()


def test_tx_and_addresses(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        alice, bob = created_wallets(tmp_path, node, "alice", "bob")
        mined_to = alice.address()
        alice.address()  # handed out, never used
        bob_address = bob.address()
        node.generate(101, mined_to)
        alice.run("label", bob_address, "rent")
        sent = alice.json("send", bob_address, "12.5")
        node.generate(1, ELSEWHERE)

        mine = alice.json("tx", sent["txid"])
        assert mine["txid"] == sent["txid"] and mine["status"] == "confirmed"
        assert mine["confirmations"] == 1 and mine["fee"] == sent["fee"]
        assert mine["net"] == -(12 * COIN + COIN // 2 + sent["fee"])
        assert mine["fee_rate"] == round(sent["fee"] / mine["size"], 3)
        [spent] = mine["inputs"]
        assert spent["address"] == mined_to and spent["value"] == SUBSIDY
        assert spent["ours"] and spent["kind"] == "receive" and spent["path"].endswith("/0'/0'")
        paid = [out for out in mine["outputs"] if not out["ours"]]
        change = [out for out in mine["outputs"] if out["ours"]]
        assert [(o["address"], o["value"], o["label"]) for o in paid] == [
            (bob_address, 12 * COIN + COIN // 2, "rent")
        ]
        assert [o["kind"] for o in change] == ["change"]
        assert sum(o["value"] for o in mine["outputs"]) + sent["fee"] == SUBSIDY

        theirs = bob.json("tx", sent["txid"])
        assert theirs["net"] == 12 * COIN + COIN // 2 and theirs["fee"] is None
        assert [i["ours"] for i in theirs["inputs"]] == [False]
        assert [(o["ours"], o["kind"]) for o in theirs["outputs"] if o["ours"]] == [
            (True, "receive")
        ]
        human = alice.run("tx", sent["txid"]).stdout
        assert sent["txid"] in human and bob_address in human and "change" in human

        rows = alice.json("addresses")["addresses"]
        first = rows[0]
        assert (first["address"], first["kind"], first["index"]) == (mined_to, "receive", 0)
        assert first["received"] == 101 * SUBSIDY
        assert first["balance"] == 100 * SUBSIDY
        assert first["transactions"] == 102  # 101 coinbases and the send
        assert [r["used"] for r in rows if r["kind"] == "receive"] == [True, False]
        [change_row] = [r for r in rows if r["kind"] == "change"]
        assert change_row["received"] == change_row["balance"] == change[0]["value"]
        unused = alice.json("addresses", "--unused")["addresses"]
        assert [(r["kind"], r["index"]) for r in unused] == [("receive", 1)]
        assert alice.json("addresses", "--kind", "change")["addresses"] == [change_row]
        assert bob.json("addresses", "--used")["addresses"][0]["received"] == 12 * COIN + COIN // 2

        unknown = alice.run("tx", "ab" * 32, check=False)
        assert_one_line_error(unknown, "is not one of this wallet's")
        assert_one_line_error(alice.run("tx", "xyz", check=False), "expected 64 hex digits")


def test_a_payment_request_paid_by_uri(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        shop, buyer = created_wallets(tmp_path, node, "shop", "buyer")
        node.generate(101, buyer.address())
        request = shop.json("address", "--amount", "2.5", "--message", "Invoice 7 & co")
        uri = request["uri"]
        assert uri == f"seedchain:{request['address']}?amount=2.5&message=Invoice%207%20%26%20co"
        mismatch = buyer.run("send", uri, "3", check=False)
        assert_one_line_error(mismatch, "the URI asks for 2.5, AMOUNT says 3")
        assert_one_line_error(buyer.run("send", uri, "max", check=False), "'max' does not go")
        paid = buyer.json("send", uri)
        assert paid["amount"] == 250_000_000 and paid["label"] == "Invoice 7 & co"
        assert buyer.json("label", paid["txid"])["label"] == "Invoice 7 & co"
        open_request = shop.json("address")["uri"]  # no amount: the payer names it
        assert_one_line_error(buyer.run("send", open_request, check=False), "names no amount")
        assert buyer.json("send", open_request, "0.5")["amount"] == 50_000_000
        node.generate(1, ELSEWHERE)
        assert shop.json("balance")["confirmed"] == 300_000_000
