"""Helpers of the wallet CLI tests: a real ``seedchain node`` process on regtest with its REST
API, and the ``seedchain wallet`` / ``seedchain mine`` commands run as subprocesses. (Named
test_* so it sits with them; it holds no tests.)"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.framework.util import free_port

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


def clean_env() -> dict[str, str]:
    """The environment without any SEEDCHAIN_* setting of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDCHAIN_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def seedchain(*args: str) -> list[str]:
    """The ``seedchain`` console script's command line (``python -m seedchain.cli`` would load
    ``seedchain.cli`` twice, and its ``CommandError`` would not be caught)."""
    return [
        sys.executable,
        "-c",
        "import sys; from seedchain.cli import main; sys.exit(main())",
        *args,
    ]


@dataclass
class Node:
    """A ``seedchain node --network regtest`` process with its API on ``url``."""

    datadir: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return (self.datadir / "api.cookie").read_text().strip()

    def request(
        self, method: str, path: str, body: Any = None, *, admin: bool = False, text: bool = False
    ) -> Any:
        data = None
        headers = {}
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            headers["Content-Type"] = "text/plain" if isinstance(body, str) else "application/json"
        if admin:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
        return raw.decode() if text else json.loads(raw)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def generate(self, blocks: int, address: str) -> list[str]:
        result: list[str] = self.request(
            "POST", "/v1/mining/generate", {"blocks": blocks, "address": address}, admin=True
        )
        return result

    def mempool(self) -> list[str]:
        result: list[str] = self.get("/v1/mempool/txids")
        return result

    def height(self) -> int:
        return int(self.request("GET", "/v1/blocks/tip/height", text=True))


@contextlib.contextmanager
def run_node(tmp_path: Path, name: str = "node") -> Iterator[Node]:
    datadir = tmp_path / name
    port = free_port()
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        seedchain(
            "node",
            "--network",
            "regtest",
            "--datadir",
            str(datadir),
            "--api-bind",
            f"127.0.0.1:{port}",
            "--p2p-bind",
            "127.0.0.1:0",
            "--api-rate-limit",
            "0",
            "--log-format",
            "json",
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env=clean_env(),
    )
    node = Node(datadir, port, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"node exited: {(tmp_path / f'{name}.log').read_text()}")
            try:
                node.get("/v1/chain")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield node
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Wallet:
    """``seedchain wallet --network regtest --datadir D --node URL ...`` as subprocesses."""

    def __init__(self, datadir: Path, node: Node, name: str = "default") -> None:
        self.datadir = datadir
        self.node = node
        self.name = name
        self.password_file = datadir.parent / f"{datadir.name}.password"
        self.password_file.write_text(PASSWORD + "\n")

    @property
    def directory(self) -> Path:
        return self.datadir / "wallets" / self.name

    def argv(self, args: Sequence[str], password_file: Path | None = None) -> list[str]:
        return seedchain(
            "wallet",
            "--network",
            "regtest",
            "--datadir",
            str(self.datadir),
            "--wallet",
            self.name,
            "--node",
            self.node.url,
            *args,
            "--password-file",
            str(password_file or self.password_file),
        )

    def run(
        self, *args: str, password_file: Path | None = None, check: bool = True, timeout: float = 60
    ) -> Result:
        done = subprocess.run(
            self.argv(args, password_file),
            check=False,
            capture_output=True,
            text=True,
            cwd=REPO,
            env=clean_env(),
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        result = Result(done.returncode, done.stdout, done.stderr)
        if check and result.returncode != 0:
            raise AssertionError(f"wallet {' '.join(args)} failed: {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return self.run(*args, "--json").json()

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start a command without waiting for it."""
        return subprocess.Popen(
            self.argv(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=clean_env(),
            stdin=subprocess.DEVNULL,
        )

    def create(self) -> str:
        """Create the wallet; its mnemonic."""
        mnemonic: str = self.json("create")["mnemonic"]
        return mnemonic

    def address(self) -> str:
        address: str = self.json("address")["address"]
        return address

    def state_hash(self) -> str:
        """A digest of every file of the wallet (names, modes and contents)."""
        digest = hashlib.sha256()
        for path in sorted(self.directory.rglob("*")):
            digest.update(str(path.relative_to(self.directory)).encode())
            digest.update(oct(path.stat().st_mode).encode())
            if path.is_file():
                digest.update(path.read_bytes())
        return digest.hexdigest()


def created_wallets(tmp_path: Path, node: Node, *names: str) -> list[Wallet]:
    """A created wallet per name, each in its own datadir under ``tmp_path``."""
    wallets = [Wallet(tmp_path / name, node) for name in names]
    for wallet in wallets:
        wallet.create()
    return wallets


def mine(node: Node, address: str, blocks: int) -> list[dict[str, Any]]:
    """``seedchain mine --node URL --to ADDRESS --blocks N --json``: one record per block."""
    done = subprocess.run(
        seedchain(
            "mine",
            "--node",
            node.url,
            "--to",
            address,
            "--blocks",
            str(blocks),
            "--threads",
            "1",
            "--json",
        ),
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
