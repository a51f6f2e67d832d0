"""The wallet CLI across reorgs made while it is closed, concurrent sends, and fee bumps, against
a real regtest node process.

Competing branches are built here with ``consensus.assemble`` on an earlier block and posted to
``POST /v1/mining/submit`` (as tests/unit/node/test_api_reorg.py does); the double spend in one
of them is signed with the wallet's own key, derived from its phrase.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from consensus.assemble import assemble_block, solve_block
from consensus.block import Block
from consensus.coinbase import block_subsidy
from consensus.hashing import hex_to_hash
from consensus.params import REGTEST
from consensus.transaction import COIN, OutPoint, Transaction, TxOut
from tests.framework.factory import Key, spend
from tests.functional.test_wallet_support import (
    PASSWORD,
    REPO,
    Node,
    Wallet,
    clean_env,
    run_node,
)
from wallet.engine import keychain_for
from wallet.keys import RECEIVE
from wallet.metadata import parse_outpoint

SUBSIDY = 50 * COIN
ELSEWHERE = Key.from_index(99)
BOB = Key.from_index(98)


def fork(node: Node, parent_height: int, transactions: list[list[Transaction]]) -> list[Block]:
    """Solved blocks on the active block at ``parent_height``, one per list of transactions."""
    parent_hash = node.request("GET", f"/v1/block-height/{parent_height}", text=True)
    parent = node.get(f"/v1/block/{parent_hash}")
    previous = hex_to_hash(parent_hash)
    time = max(parent["timestamp"], parent["mediantime"]) + 1
    blocks = []
    for offset, txs in enumerate(transactions, start=1):
        height = parent_height + offset
        block = assemble_block(
            previous,
            height,
            time,
            REGTEST.pow_limit_bits,
            txs,
            [TxOut(block_subsidy(height, REGTEST.halving_interval), ELSEWHERE.lock)],
            tag=b"fork-%d" % time,
        )
        solved = solve_block(block)
        assert solved is not None
        blocks.append(solved)
        previous = solved.hash
        time += 1
    return blocks


def submit(node: Node, blocks: list[Block]) -> list[str]:
    return [
        node.request("POST", "/v1/mining/submit", {"block": b.encoded.hex()})["status"]
        for b in blocks
    ]


def test_reorg_while_the_wallet_is_closed(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        alice = Wallet(tmp_path / "alice", node)
        mnemonic = alice.create()
        node.generate(101, alice.address())
        sent = alice.json("send", BOB.address(), "12.5")
        fee = sent["fee"]
        node.generate(1, ELSEWHERE.address())  # the send confirms at 102
        history = alice.json("history")["transactions"]
        assert (history[0]["txid"], history[0]["status"]) == (sent["txid"], "confirmed")

        # closed; a longer branch from 101 without the send: it goes back to the mempool
        assert submit(node, fork(node, 101, [[], []])) == ["stored", "connected"]
        assert node.mempool() == [sent["txid"]]
        history = alice.json("history")
        entry = history["transactions"][0]
        assert history["tip_height"] == 103
        assert (entry["txid"], entry["status"], entry["height"]) == (
            sent["txid"],
            "unconfirmed",
            None,
        )
        balance = alice.json("balance")
        assert balance["confirmed"] == 101 * SUBSIDY
        assert balance["unconfirmed"] == -(1_250_000_000 + fee)

        # closed again; a longer branch from 101 whose first block double-spends the coin
        coin = parse_outpoint(sent["inputs"][0])
        double = double_spend(mnemonic, coin)
        statuses = submit(node, fork(node, 101, [[double], [], []]))
        assert statuses == ["stored", "stored", "connected"]
        assert node.mempool() == []
        history = alice.json("history")
        assert history["tip_height"] == 104
        by_txid = {t["txid"]: t for t in history["transactions"]}
        assert by_txid[sent["txid"]]["status"] == "conflicted"
        assert by_txid[sent["txid"]]["conflicts_with"] == double.txid_hex
        assert by_txid[double.txid_hex]["status"] == "confirmed"
        assert by_txid[double.txid_hex]["net"] == -SUBSIDY
        assert by_txid[double.txid_hex]["height"] == 102
        # the balance is the chain's: 101 coinbases, one spent by the double spend
        balance = alice.json("balance")
        assert balance["confirmed"] == 100 * SUBSIDY
        assert balance["unconfirmed"] == 0
        chain = node.get(f"/v1/address/{key_address(mnemonic, 0)}")["chain_stats"]
        assert chain["funded_txo_sum"] - chain["spent_txo_sum"] == balance["confirmed"]
        # and a new send works with what is left
        again = alice.json("send", BOB.address(), "1")
        assert node.mempool() == [again["txid"]]


def key_address(mnemonic: str, index: int) -> str:
    return keychain_for(mnemonic).key(RECEIVE, index).address(REGTEST.hrp)


def double_spend(mnemonic: str, coin: OutPoint) -> Transaction:
    key = keychain_for(mnemonic).key(RECEIVE, 0)
    signer = Key(key.private_key, key.public_key, key.key_hash, key.lock)
    return spend(
        [(coin, TxOut(SUBSIDY, key.lock), signer)], [TxOut(SUBSIDY - 1000, ELSEWHERE.lock)]
    )


def test_concurrent_sends_and_fee_bump(tmp_path: Path) -> None:
    with run_node(tmp_path) as node:
        alice = Wallet(tmp_path / "alice", node)
        alice.create()
        node.generate(103, alice.address())  # heights 1..4 are mature at 103

        # Three at once. Each reads its password from its own FIFO, which is written only once
        # all three wait on it, so they pass that point together: without the wallet's lock
        # they would all see the same coins and, selection being deterministic, build the
        # same transaction.
        fifos = []
        for n in range(3):
            fifo = tmp_path / f"password-{n}"
            os.mkfifo(fifo, 0o600)
            fifos.append(fifo)
        processes = [
            subprocess.Popen(
                alice.argv(["send", BOB.address(), "30", "--json"], password_file=fifo),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
                env=clean_env(),
                stdin=subprocess.DEVNULL,
            )
            for fifo in fifos
        ]
        writers = [open(fifo, "w") for fifo in fifos]  # noqa: SIM115 (each blocks until read)
        for writer in writers:
            writer.write(PASSWORD + "\n")
        for writer in writers:
            writer.close()
        results = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=60)
            assert process.returncode == 0, stderr
            results.append(json.loads(stdout))
        first, second, third = results
        spent = [outpoint for result in results for outpoint in result["inputs"]]
        assert len(spent) == len(set(spent)) == 3
        assert sorted(node.mempool()) == sorted(r["txid"] for r in results)

        bumped = alice.json("bump", first["txid"], "--fee-rate", "5")
        assert bumped["replaces"] == first["txid"] and bumped["fee"] > first["fee"]
        assert bumped["fee"] >= 5 * bumped["size"]
        mempool = node.mempool()
        assert sorted(mempool) == sorted([bumped["txid"], second["txid"], third["txid"]])
        history = alice.json("history")["transactions"]
        unconfirmed = {t["txid"]: t for t in history if t["status"] == "unconfirmed"}
        assert set(unconfirmed) == {bumped["txid"], second["txid"], third["txid"]}
        assert unconfirmed[bumped["txid"]]["replaces"] == first["txid"]

        node.generate(1, ELSEWHERE.address())
        balance = alice.json("balance")
        fees = bumped["fee"] + second["fee"] + third["fee"]
        assert balance["confirmed"] == 103 * SUBSIDY - 90 * COIN - fees
        assert balance["unconfirmed"] == 0
        bob = node.get(f"/v1/address/{BOB.address()}")["chain_stats"]
        assert bob["funded_txo_sum"] == 90 * COIN
