"""``seedchain status``: one report about a running node from its public API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from seedchain.cli import main
from tests.framework.util import free_port
from tests.unit.node.test_api_support import live_api


async def test_status_of_a_live_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with live_api(tmp_path, listen=True) as api:
        await api.generate(3)
        url = api.server.url
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["status", "--node", url, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["chain"]["height"] == 3 and report["node"]["network"] == "regtest"
        assert report["mining"]["hashps_blocks"] == 3 and report["peers"] == []
        assert report["mempool"]["count"] == 0
        assert await asyncio.to_thread(main, ["status", "--node", url]) == 0
        text = capsys.readouterr().out
        assert "height 3 (synced" in text and "/seedchain:0.1.0/ on regtest" in text
        assert "0 in, 0 out (limits 64 in, 8 out)\n" in text
        reply = await api.post("/v1/network/active", json={"active": False}, headers=api.admin)
        assert reply.status == 200
        assert await asyncio.to_thread(main, ["status", "--node", url]) == 0
        text = capsys.readouterr().out
        assert "0 in, 0 out (limits 64 in, 8 out); network activity off" in text


def test_status_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["status", "--node", url]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot reach {url}/v1/") and len(err.splitlines()) == 1
    assert main(["status", "--node", url, "--watch", "0"]) == 1
    assert "--watch must be between" in capsys.readouterr().err
    assert main(["status", "--node", "ftp://x"]) == 1
    assert capsys.readouterr().err.startswith("error: ")


async def test_stop_a_live_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with live_api(tmp_path) as api:
        url = api.server.url
        (tmp_path / "elsewhere").mkdir()
        argv = ["stop", "--network", "regtest", "--node", url]
        assert await asyncio.to_thread(main, [*argv, "--datadir", str(tmp_path / "elsewhere")]) == 1
        assert "api.cookie cannot be read" in capsys.readouterr().err
        (tmp_path / "elsewhere" / "api.cookie").write_text("wrong-token\n")
        assert await asyncio.to_thread(main, [*argv, "--datadir", str(tmp_path / "elsewhere")]) == 1
        assert "refused the token of api.cookie (403)" in capsys.readouterr().err
        stopping = asyncio.to_thread(main, [*argv, "--datadir", str(tmp_path), "--wait", "20"])
        # The in-process node stops on request; live_api's own server closes with it.
        assert await stopping == 0
        out = capsys.readouterr().out  # the in-process node's log lines are on stdout too
        assert out.strip().splitlines()[-1] == f"stopped: the node at {url}"
        with pytest.raises(aiohttp.ClientError):  # its API is gone
            await api.get("/healthz")


async def test_status_shows_the_upload_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with live_api(tmp_path, max_upload_target=200 * 2**20) as api:
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["status", "--node", api.server.url]) == 0
        text = capsys.readouterr().out
        assert "200 of 200 MiB left, 1d 0h 0m to go; old blocks served" in text
