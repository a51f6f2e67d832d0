"""mining: the multi-core Miner (solutions, rolling, cancellation within 50 ms, statistics),
the work dispenser, and installing and mining with the C extension left out."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import struct
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import mining.miner
from consensus.nonce_search import BACKEND_ENV, HASHLIB, available_backends
from mining import Miner, Solution, Work, WorkDispenser

ROOT = Path(__file__).resolve().parents[3]
REGTEST_TARGET = 0x7FFFFF << (8 * (0x20 - 3))  # bits 0x207fffff
IMPOSSIBLE = 0  # no header hashes to zero


def sha256d_int(header: bytes) -> int:
    digest = hashlib.sha256(hashlib.sha256(header).digest()).digest()
    return int.from_bytes(digest, "little")


def header76(seed: int) -> bytes:
    return (hashlib.sha256(b"test header %d" % seed).digest() * 3)[:76]


async def wait_for(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds (5 s deadline)."""
    async with asyncio.timeout(5.0):
        while not condition():  # noqa: ASYNC110 - a polled condition with a deadline
            await asyncio.sleep(0.001)


@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


async def test_solves_and_the_header_meets_the_target(backend: str) -> None:
    target = 2**256 >> 12
    async with Miner(threads=2, backend=backend) as miner:
        solution = await miner.solve(Work(header76(1)), target)
    assert solution is not None
    assert solution.roll == 0
    assert solution.header76 == header76(1)
    assert len(solution.header) == 80
    assert sha256d_int(solution.header) <= target
    assert miner.hashes >= 1


async def test_rolls_time_when_the_nonce_range_runs_out() -> None:
    base = header76(2)
    base_time = struct.unpack_from("<I", base, 68)[0]
    work = Work.rolling_time(base, 1000, nonce_count=64)
    target = 2**256 >> 14  # ~1 in 16384 nonces: needs many rolls of 64 nonces
    async with Miner(threads=2) as miner:
        solution = await miner.solve(work, target)
    assert solution is not None
    assert solution.roll > 0
    assert solution.nonce < 64
    assert struct.unpack_from("<I", solution.header, 68)[0] == base_time + solution.roll
    assert solution.header[:68] == base[:68] and solution.header[72:76] == base[72:76]
    assert sha256d_int(solution.header) <= target


async def test_returns_none_when_the_work_is_exhausted(backend: str) -> None:
    work = Work.rolling_time(header76(3), 3, nonce_count=5000)
    async with Miner(threads=2, backend=backend) as miner:
        assert await miner.solve(work, IMPOSSIBLE) is None
        assert miner.hashes == 4 * 5000  # every (roll, nonce) exactly once
        # and the miner is ready for the next job
        assert await miner.solve(Work(header76(4)), 2**256 - 1) == Solution.of(header76(4), 0, 0)


async def test_cancel_stops_every_worker_within_50_ms(backend: str) -> None:
    async with Miner(threads=2, backend=backend) as miner:
        task = asyncio.create_task(miner.solve(Work(header76(5)), IMPOSSIBLE))
        await wait_for(lambda: miner.hashes > 0)  # the workers are mid-search
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        elapsed = time.perf_counter() - started
        assert elapsed < 0.050, f"cancel took {elapsed * 1000:.1f} ms"
        # solve() returned only once the workers had stopped: no hashing afterwards
        hashed = miner.hashes
        await asyncio.sleep(0.02)
        assert miner.hashes == hashed
        assert miner.hashrate > 0


async def test_a_new_solve_waits_for_the_cancelled_one() -> None:
    async with Miner(threads=2) as miner:
        first = asyncio.create_task(miner.solve(Work(header76(6)), IMPOSSIBLE))
        await wait_for(lambda: miner.hashes > 0)
        second = asyncio.create_task(miner.solve(Work(header76(7)), 2**256 >> 8))
        first.cancel()
        solution = await second
        assert first.cancelled()
        assert solution is not None and solution.header76 == header76(7)


async def test_errors_from_the_roll_callback_reach_the_caller() -> None:
    def broken(_roll: int) -> bytes:
        raise RuntimeError("no more extranonces")

    work = Work(header76(8), broken, max_roll=5, nonce_count=100)
    async with Miner(threads=2) as miner:
        with pytest.raises(RuntimeError, match="no more extranonces"):
            await miner.solve(work, IMPOSSIBLE)


async def test_aclose_joins_the_threads_and_is_idempotent() -> None:
    miner = Miner(threads=2)
    await miner.solve(Work(header76(9)), 2**256 - 1)
    assert sum(t.name.startswith("seedchain-miner-") for t in threading.enumerate()) >= (
        miner.workers
    )
    await miner.aclose()
    await miner.aclose()
    assert not any(t.name.startswith("seedchain-miner-") for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        await miner.solve(Work(header76(9)), 2**256 - 1)


def test_dispenser_hands_out_every_nonce_of_every_roll_once() -> None:
    work = Work.rolling_time(header76(10), 3, nonce_start=100, nonce_count=1000)
    dispenser = WorkDispenser(work)
    seen: list[tuple[bytes, int]] = []
    lock = threading.Lock()

    def take_all(size: int) -> None:
        while (chunk := dispenser.take(size)) is not None:
            with lock:
                seen.extend(
                    (chunk.header76, n) for n in range(chunk.start, chunk.start + chunk.count)
                )

    threads = [threading.Thread(target=take_all, args=(size,)) for size in (7, 13, 64, 100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = {(work.header_for_roll(r), n) for r in range(4) for n in range(100, 1100)}
    assert len(seen) == len(expected) == 4000
    assert set(seen) == expected


def test_work_is_validated() -> None:
    with pytest.raises(ValueError, match="76"):
        Work(bytes(80))
    with pytest.raises(ValueError, match="roll_header"):
        Work(bytes(76), max_roll=1)
    with pytest.raises(ValueError, match="2\\*\\*32"):
        Work(bytes(76), nonce_start=1, nonce_count=2**32)


def test_one_log_line_says_hashlib_is_used_without_the_extension(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(mining.miner, "native_variants", list)  # as if the build had failed
    with caplog.at_level(logging.INFO, logger="mining.miner"):
        Miner(threads=1, backend=HASHLIB)
    records = [r for r in caplog.records if r.name == "mining.miner"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert "hashlib" in records[0].getMessage()


# -- installing without the C extension ---------------------------------------------------

CHECK_SCRIPT = textwrap.dedent(
    """
    import asyncio, hashlib, logging, sys
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="LOG %(message)s")
    import consensus, mining
    from consensus import nonce_search
    assert consensus.__file__.startswith(sys.argv[1]), consensus.__file__
    assert nonce_search.available_backends() == ["hashlib"], nonce_search.available_backends()
    assert nonce_search.native_features() == "unavailable"
    target = 0x7FFFFF << (8 * (0x20 - 3))

    async def main():
        async with mining.Miner(threads=2) as miner:
            return await miner.solve(mining.Work(bytes(76)), target)

    solution = asyncio.run(main())
    digest = hashlib.sha256(hashlib.sha256(solution.header).digest()).digest()
    assert int.from_bytes(digest, "little") <= target
    print("MINED", solution.nonce)
    """
)


def _build_isolation_flags() -> list[str]:
    """Build offline in this venv when setuptools can make wheels itself; otherwise let pip
    fetch setuptools and wheel into an isolated build environment."""
    major, minor = (int(part) for part in importlib.metadata.version("setuptools").split(".")[:2])
    if (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None:
        return ["--no-build-isolation"]
    return []


@pytest.mark.parametrize(
    "build_env",
    [{"SEEDCHAIN_NO_NATIVE": "1"}, {"CC": "false"}],
    ids=["SEEDCHAIN_NO_NATIVE", "broken-compiler"],
)
def test_installs_and_mines_without_the_c_extension(
    tmp_path: Path, build_env: dict[str, str]
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "build")
    for package in ("consensus", "mining"):
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    target = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k not in (BACKEND_ENV, "SEEDCHAIN_NO_NATIVE")}
    pip = [sys.executable, "-m", "pip", "install", "-v", "--no-deps", "--target", str(target)]
    install = subprocess.run(
        [*pip, *_build_isolation_flags(), str(source)],
        check=False,
        env=env | build_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    if "CC" in build_env:
        assert "native proof-of-work extension could not be built" in (
            install.stdout + install.stderr
        )
    assert (target / "consensus" / "nonce_search.py").is_file()
    built = [p for p in (target / "consensus").glob("_sha256d_native*") if p.suffix != ".pyi"]
    assert not built, built

    # -S: no site-packages .pth files, so the editable install of the working tree (a meta
    # path finder) cannot supply consensus._sha256d_native; dependencies still come from
    # this venv's site-packages, placed after the fresh install.
    site_packages = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    run = subprocess.run(
        [sys.executable, "-S", "-c", CHECK_SCRIPT, str(target)],
        check=False,
        env=env | {"PYTHONPATH": os.pathsep.join([str(target), *sorted(site_packages)])},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "MINED" in run.stdout
    log_lines = [line for line in run.stdout.splitlines() if line.startswith("LOG ")]
    assert len(log_lines) == 1 and "hashlib" in log_lines[0], log_lines
