"""The gap limit (Electrum's) through the CLI against a real regtest node: a wallet restored
with the default limit of 20 does not see a payment to its 31st receiving address; restored
with ``--gap-limit 40`` it does, and keeps the limit in ``wallet.json``; ``gap-limit N`` raises
it later and the next command finds the payment; a bad limit is one line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.functional.test_wallet_support import Wallet, assert_one_line_error, run_node


def test_a_payment_beyond_the_gap_is_found_with_a_larger_limit(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        alice = Wallet(tmp_path / "alice", node)
        mnemonic = alice.create()
        far = alice.json("address", "--index", "30")["address"]
        node.generate(1, far)  # a coinbase to receiving address 30
        phrase = tmp_path / "phrase.txt"
        phrase.write_text(mnemonic + "\n")
        phrase.chmod(0o600)

        short = Wallet(tmp_path / "short", node)
        result = short.json("restore", "--mnemonic-file", str(phrase))
        assert result["next_receive"] == 0 and result["transactions"] == 0
        assert short.json("gap-limit")["gap_limit"] == 20

        wide = Wallet(tmp_path / "wide", node)
        result = wide.json("restore", "--mnemonic-file", str(phrase), "--gap-limit", "40")
        assert result["next_receive"] == 31 and result["transactions"] == 1
        assert wide.json("info")["gap_limit"] == 40
        saved = json.loads((wide.directory / "wallet.json").read_text())
        assert saved["gap_limit"] == 40

        # raised later: the next command's sync looks far enough
        assert short.json("gap-limit", "35") == {"wallet": "default", "gap_limit": 35}
        assert len(short.json("history")["transactions"]) == 1
        assert short.json("gap-limit")["gap_limit"] == 35

        for bad in ("0", "10001", "many"):
            before = short.state_hash()
            assert_one_line_error(short.run("gap-limit", bad, check=False), "gap")
            assert short.state_hash() == before
