"""docker-compose.yml and the Dockerfile against the code they run, without a container engine.

Each service's ``SEEDCHAIN_*`` environment goes through the real ``seedchain`` argument parser
and config builders, so a renamed option or variable fails here, not in a user's cluster; the
addresses between services must match the ports each one listens on. (The cluster itself is
checked end to end by scripts/check-cluster.sh, which needs docker or podman.)
"""

from __future__ import annotations

import argparse
import os
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from consensus.addresses import decode_address
from consensus.params import REGTEST
from seedchain import cmd_node, cmd_pool
from seedchain.cli import parse_args
from seedchain.cmd_miner import parse_stratum_url

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
NODES = ["node0", "node1", "node2"]
DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


def environment(service: str) -> dict[str, str]:
    """The service's environment, ``${VAR:-default}`` read as its default (no .env file)."""
    raw = SERVICES[service].get("environment", {})
    return {key: DEFAULT.sub(lambda m: m.group(2), str(value)) for key, value in raw.items()}


def parse(service: str, monkeypatch: pytest.MonkeyPatch) -> argparse.Namespace:
    """What ``seedchain`` makes of the service's command and environment in its container."""
    for key in [k for k in os.environ if k.startswith("SEEDCHAIN_")]:
        monkeypatch.delenv(key)
    for key, value in environment(service).items():
        assert key.startswith("SEEDCHAIN_"), key
        monkeypatch.setenv(key, value)
    spec = SERVICES[service]
    entrypoint = spec.get("entrypoint", ["seedchain"])
    argv = [*entrypoint[1:], *spec["command"]]
    return parse_args(argv)  # builds the parser after the variables are set


def test_every_node_parses_and_listens_where_the_others_look(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    peers = {}
    for name in NODES:
        config = cmd_node.build_config(parse(name, monkeypatch))
        peers[name] = config.peers
        assert config.params is REGTEST
        assert (config.api_bind.host, config.api_bind.port) == ("0.0.0.0", REGTEST.api_port)
        assert (config.p2p_bind.host, config.p2p_bind.port) == ("0.0.0.0", REGTEST.p2p_port)
        assert str(config.datadir).startswith("/data/")
        assert not config.dial_from_addrbook
        for peer in config.peers:  # a peer is another node's service name and P2P port
            assert peer.host in NODES and peer.host != name and peer.port == REGTEST.p2p_port
        assert "/data" in str(SERVICES[name]["volumes"])
        test = " ".join(SERVICES[name]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{REGTEST.api_port}/healthz" in test
    assert not peers["node0"] and peers["node1"] and len(peers["node2"]) == 2


def test_the_pool_reaches_node0_and_serves_where_the_miners_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = cmd_pool.build_config(parse("pool", monkeypatch))
    assert config.params is REGTEST
    node = urlsplit(config.node_url)
    assert (node.hostname, node.port) == ("node0", REGTEST.api_port)
    assert config.stratum_bind == ("0.0.0.0", REGTEST.pool_port)
    assert config.api_bind == ("0.0.0.0", REGTEST.pool_port + 1)
    assert str(config.datadir).startswith("/data/")
    for miner in ("miner-a", "miner-b"):
        args = parse(miner, monkeypatch)
        assert parse_stratum_url(args.url) == ("pool", REGTEST.pool_port)
        address, _, worker = args.user.partition(".")
        decode_address(address, REGTEST.hrp)  # a valid regtest address
        assert worker == miner
        assert int(args.threads) >= 1


def test_the_wallet_tool_runs_seedchain_wallet_against_node0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert SERVICES["wallet"]["profiles"] == ["tools"]  # not started by `up`
    args = parse("wallet", monkeypatch)
    assert args.command == "wallet"
    assert args.network == "regtest"
    node = urlsplit(args.node)
    assert (node.hostname, node.port) == ("node0", REGTEST.api_port)


def test_one_image_built_once_and_never_pulled() -> None:
    builders = [name for name, spec in SERVICES.items() if "build" in spec]
    assert builders == ["node0"]  # compose builds the image once, not once per service
    for name, spec in SERVICES.items():
        assert spec["image"] == "seedchain:latest", name
        assert spec["pull_policy"] == "never", name  # it is no registry's image


def test_only_loopback_ports_are_published() -> None:
    published = [port for spec in SERVICES.values() for port in spec.get("ports", [])]
    assert published
    for port in published:
        host, *ports = str(port).split(":")  # 127.0.0.1:host port:container port
        assert host == "127.0.0.1", port
        assert len(ports) == 2 and all(p.isdigit() for p in ports), port


def test_the_dockerfile_copies_every_package_the_project_installs() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in include}
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.MULTILINE))
    assert copied == packages
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not packages & set(ignored)
    assert "**/*.so" in ignored and ".venv" in ignored  # never the host's builds
