"""SIGKILL a process that connects and reorgs blocks at random instants, 50 times: every
restart must open cleanly and ``verify`` must rebuild the stored UTXO set exactly."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from consensus.params import REGTEST
from node.chain import ChainState
from node.verify import verify_datadir

ROOT = Path(__file__).resolve().parents[3]
KILLS = 50


def test_sigkill_at_random_instants_never_corrupts(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    heights = []
    for round_no in range(KILLS):
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.framework.crash_worker", str(tmp_path), str(round_no)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert line.startswith("ready"), worker.stderr.read() if worker.stderr else line
        time.sleep(rng.uniform(0.0, 0.25))
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert worker.returncode == -signal.SIGKILL, worker.stderr.read() if worker.stderr else ""

        report = verify_datadir(tmp_path, REGTEST)  # the state as the kill left it
        state = ChainState.open(tmp_path, REGTEST)  # resumes an interrupted reorg, if any
        assert report.tip_hash in state.entries
        assert state.tip.chainwork >= state.entries[report.tip_hash].chainwork
        state.close()
        verify_datadir(tmp_path, REGTEST)  # and the resumed state is consistent too
        heights.append(report.height)
    assert heights[-1] > heights[0] + 50, f"the worker made too little progress: {heights}"
