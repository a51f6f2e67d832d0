"""The files in ``contrib/`` stay true to the commands they run."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from seedchain.cli import parse_args
from seedchain.cmd_node import build_config

ROOT = Path(__file__).resolve().parents[3]


def test_the_systemd_unit_runs_a_node_command_that_parses() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "contrib" / "seedchain-node.service")
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert argv[0].endswith("/bin/seedchain") and argv[1] == "node"
    config = build_config(parse_args(argv[1:]))
    assert config.params.name == "main" and str(config.datadir) == "/var/lib/seedchain/main"
    assert unit["Service"]["KillSignal"] == "SIGTERM"
    assert unit["Service"]["ReadWritePaths"] == "/var/lib/seedchain"
