"""``seedchain demo`` runs the whole network and stops cleanly: nodes agree and keep growing,
the pool's miners get shares in, the wallets pay each other, and an audit of the pool's
payouts against its share log and the chain finds nothing wrong."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_whole_network_and_stops_cleanly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "seedchain", "demo", "--duration", "30", "--datadir", str(tmp_path)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    final = next(line for line in reversed(lines) if line.startswith("demo stopped: "))
    match = re.search(r"heights=(\d+),(\d+),(\d+) shares=(\d+),(\d+) payments=(\d+)", final)
    assert match, result.stdout
    heights = [int(match.group(i)) for i in (1, 2, 3)]
    assert min(heights) > 110, heights  # the 110 bootstrap blocks, then pool blocks on top
    # the last sample is taken while blocks keep coming: the nodes agree within a few blocks
    assert max(heights) - min(heights) <= 5, heights
    assert int(match.group(4)) + int(match.group(5)) > 0, "the miners' shares reached the pool"
    assert int(match.group(6)) >= 1, "the wallets paid each other"
    audit = re.fullmatch(
        r"audit: (\d+) of (\d+) pool blocks pay what the share log says,"
        r" (\d+) of (\d+) carried balances match",
        lines[-1],
    )
    assert audit, lines[-1]
    assert audit.group(1) == audit.group(2) and int(audit.group(2)) >= 1, lines[-1]
    assert audit.group(3) == audit.group(4), lines[-1]
    for name in ("node0", "node1", "node2", "pool", "miner-a", "miner-b"):
        log = (tmp_path / f"{name}.log").read_text()
        assert "Traceback" not in log, f"{name}: {log[-2000:]}"
