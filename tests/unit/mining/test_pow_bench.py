"""``seedchain bench pow``: the rows and JSON keys the issue fixes, the ceiling measured in the
same run, and the plain reference loop of performance.md beside the hashlib backend."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mining.bench import REFERENCE, bench_pow

KEYS = {"backend", "threads", "mhs", "ceiling_mhs", "ratio"}


def test_rows_have_the_keys_and_the_reference_row() -> None:
    rows = bench_pow(0.05, [1], ["hashlib"])
    assert [r["backend"] for r in rows] == ["hashlib", REFERENCE]
    for row in rows:
        assert set(row) == KEYS and row["threads"] == 1
        assert row["mhs"] > 0 and row["ceiling_mhs"] > 0
        # the ratio comes from the unrounded figures: within rounding of the printed ones
        assert row["ratio"] == pytest.approx(row["mhs"] / row["ceiling_mhs"], abs=0.0015)


def test_the_reference_row_is_only_for_one_thread() -> None:
    rows = bench_pow(0.05, [2], ["hashlib"])
    assert [r["backend"] for r in rows] == ["hashlib"]


def test_cli_json() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "seedchain",
            "bench",
            "pow",
            "--seconds",
            "0.05",
            "--threads",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    rows = json.loads(out.stdout)
    assert {r["backend"] for r in rows} >= {"hashlib", REFERENCE}
    assert all(set(r) == KEYS for r in rows)
