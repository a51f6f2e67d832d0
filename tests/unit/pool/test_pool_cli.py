"""``seedchain pool`` and ``seedchain miner`` on the command line: one-line errors for bad
input, and the miner subprocess mining on a pool until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from pool_testkit import (
    ALICE,
    OPERATOR,
    FakeChain,
    FakeNodeClient,
    bits_for_work,
    pool_config,
    running_pool,
    wait_for,
)

from consensus.params import TEST
from seedchain.cli import CommandError, main
from seedchain.cmd_miner import parse_stratum_url

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--operator", "rsc1bad"], "--operator"),
        (["--operator", OPERATOR.address(TEST)], "test"),
        (["--operator", OPERATOR.address(), "--fee", "250"], "fee"),
        (["--operator", OPERATOR.address(), "--stratum-bind", "host:99999"], "port"),
        (["--operator", OPERATOR.address(), "--pplns-n", "0"], "pplns"),
        (["--operator", OPERATOR.address(), "--prune-shares", "-5"], "--prune-shares"),
    ],
)
def test_pool_refuses_bad_input_in_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base = ["pool", "--network", "regtest", "--node", "http://127.0.0.1:1"]
    assert main([*base, "--datadir", str(tmp_path), *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_miner_url_and_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_stratum_url("stratum+tcp://pool.example:3333") == ("pool.example", 3333)
    assert parse_stratum_url("127.0.0.1:23333") == ("127.0.0.1", 23333)
    for bad in ("http://x:1", "stratum+tcp://nohost", "stratum+tcp://h:port"):
        with pytest.raises(CommandError):
            parse_stratum_url(bad)
    assert main(["miner", "--url", "stratum+tcp://h:1"]) == 1
    assert "--user" in capsys.readouterr().err


async def test_miner_command_mines_until_sigterm(tmp_path: Path) -> None:
    chain = FakeChain(bits_for_work(2**40))
    async with running_pool(
        pool_config(tmp_path, difficulty=2.0**-16), FakeNodeClient(chain)
    ) as pool:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "seedchain.cli", "miner",
            "--url", f"stratum+tcp://127.0.0.1:{pool.stratum_port}",
            "--user", ALICE.address() + ".cli", "--threads", "1",
            "--stats-interval", "0.3", "--log-format", "json",
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        try:
            await wait_for(lambda: pool.accounting.last_share_id >= 3, deadline=30)
            await asyncio.sleep(0.5)
        finally:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                output, _ = await process.communicate()
        assert process.returncode == 0, output.decode()[-2000:]
        text = output.decode()
        for event in ("miner_connected", "share_accepted", "miner_status"):
            assert event in text
        workers = pool.rates.workers(ALICE.address())
        assert list(workers) == ["cli"] and workers["cli"]["shares"] >= 3
