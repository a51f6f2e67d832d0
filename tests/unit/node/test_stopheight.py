"""``--stop-at-height N`` (Core's ``-stopatheight``, ``node.stopheight``): the chain never
connects past N (blocks above wait, stored), the node stops once there, and a node started
on a chain already there stops at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from consensus.params import REGTEST
from node.chain import ChainState
from tests.framework.factory import ChainBuilder, Key

NOW = 2_000_000_000
NODE = [sys.executable, "-c", "import sys; from seedchain.cli import main; sys.exit(main())"]


def test_the_chain_connects_up_to_the_height_and_no_further(tmp_path: Path) -> None:
    b = ChainBuilder()
    b.mine(30)
    state = ChainState.open(tmp_path, b.params, stop_at_height=20)
    for block in b.blocks[1:]:
        state.accept_block(block, NOW)
    assert state.height == 20 and state.tip.hash == b.blocks[20].hash
    assert b.blocks[30].hash in state.entries  # stored, waiting
    state.stop_at_height = None  # a restart without the option
    state.activate_best_chain()
    assert state.height == 30
    state.close()


def run_node(datadir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [
        *NODE, "node", "--network", "regtest", "--datadir", str(datadir),
        "--api-bind", "127.0.0.1:0", "--p2p-bind", "127.0.0.1:0", "--log-format", "json",
        *extra,
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_the_node_stops_there(tmp_path: Path) -> None:
    mine = ["--mine-to", Key.from_index(1).address(), "--mine-interval", "0"]
    done = run_node(tmp_path, *mine, "--stop-at-height", "3")
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"stop_at_height_reached"' in done.stderr
    state = ChainState.open(tmp_path, REGTEST)
    assert state.height == 3
    state.close()

    # started again on a chain already at the height: it stops at once, still at 3
    again = run_node(tmp_path, *mine, "--stop-at-height", "2")
    assert again.returncode == 0 and '"stop_at_height_reached"' in again.stderr
    state = ChainState.open(tmp_path, REGTEST)
    assert state.height == 3
    state.close()

    bad = run_node(tmp_path, "--stop-at-height", "-1")
    assert bad.returncode == 1 and "--stop-at-height must be >= 0" in bad.stderr
