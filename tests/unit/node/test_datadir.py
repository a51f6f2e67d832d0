"""The data directory's lock (one node at a time, as Core's ``.lock``) and ``seedchain
verify``, which takes it too."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from node.chain import ChainState
from node.datadir import DatadirLock, DatadirLocked
from node.server import Node
from seedchain.cli import main
from tests.framework.factory import ChainBuilder
from tests.unit.node.test_api_support import live_api


def test_one_holder_at_a_time(tmp_path: Path) -> None:
    first = DatadirLock(tmp_path)
    first.acquire()
    with pytest.raises(DatadirLocked, match=f"process {os.getpid()}"):
        DatadirLock(tmp_path).acquire()
    first.release()
    first.release()  # idempotent
    with DatadirLock(tmp_path):  # free again
        pass


async def test_a_second_node_on_the_same_datadir_is_refused(tmp_path: Path) -> None:
    async with live_api(tmp_path) as api:
        second = Node(api.node.config)
        with pytest.raises(DatadirLocked, match="is using it"):
            await second.run()
        assert (await api.get("/healthz")).status == 200  # the first one is unharmed


def test_node_command_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["node", "--network", "regtest", "--datadir", str(tmp_path), "--api-bind",
            "127.0.0.1:0", "--p2p-bind", "127.0.0.1:0"]  # fmt: skip
    with DatadirLock(tmp_path):
        assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot start the node: cannot lock the data directory")
    assert len(err.splitlines()) == 1


def make_datadir(path: Path) -> ChainBuilder:
    builder = ChainBuilder()
    builder.mine(12)
    chain = ChainState.open(path, builder.params)
    for block in builder.blocks[1:]:
        chain.accept_block(block, 2_000_000_000)
    chain.close()
    return builder


def test_verify_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    builder = make_datadir(tmp_path)
    argv = ["verify", "--network", "regtest", "--datadir", str(tmp_path)]
    assert main([*argv, "--signatures", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["height"] == 12 and report["tip"] == builder.tip.hash_hex
    assert report["signatures_checked"] is True

    with DatadirLock(tmp_path):  # a node is running: refused
        assert main(argv) == 1
    assert "cannot lock the data directory" in capsys.readouterr().err

    with sqlite3.connect(tmp_path / "chain.sqlite") as db:  # one coin lost
        db.execute("DELETE FROM utxo WHERE outpoint = (SELECT MIN(outpoint) FROM utxo)")
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "!= rebuilt" in err and len(err.splitlines()) == 1

    assert main(["verify", "--network", "regtest", "--datadir", str(tmp_path / "none")]) == 1
    assert "no chain database" in capsys.readouterr().err

    # --repair rebuilds the UTXO set and the undo data from the blocks, then checks again
    assert main([*argv, "--repair", "--signatures", "--json"]) == 0
    repaired = json.loads(capsys.readouterr().out)
    assert "!= rebuilt" in repaired["repaired"]
    assert (repaired["height"], repaired["tip"]) == (12, builder.tip.hash_hex)
    assert repaired["utxo_hash"] == report["utxo_hash"]
    assert main([*argv, "--repair", "--json"]) == 0  # nothing to repair now
    assert json.loads(capsys.readouterr().out)["repaired"] is None
    chain = ChainState.open(tmp_path, builder.params)  # and a node opens it where it was
    assert chain.tip.hash == builder.tip.hash and chain.height == 12
    chain.close()

    with sqlite3.connect(tmp_path / "chain.sqlite") as db:  # an undo record lost
        db.execute("DELETE FROM undo WHERE hash = ?", (builder.blocks[5].hash,))
    assert main(argv) == 1
    capsys.readouterr()
    assert main([*argv, "--repair", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["repaired"]
    assert main(argv) == 0
