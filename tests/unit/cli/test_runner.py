"""``seedchain.runner``: services run on uvloop's event loop (a dependency), or on asyncio's
when ``SEEDCHAIN_EVENT_LOOP=asyncio``; a signal still ends them cleanly with exit code 0."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from seedchain.runner import loop_factory, run_service


def running_loop_module(monkeypatch: pytest.MonkeyPatch, environ_choice: str | None) -> str:
    seen: list[str] = []

    async def main() -> None:
        seen.append(type(asyncio.get_running_loop()).__module__)

    if environ_choice is None:
        monkeypatch.delenv("SEEDCHAIN_EVENT_LOOP", raising=False)
    else:
        monkeypatch.setenv("SEEDCHAIN_EVENT_LOOP", environ_choice)
    assert run_service(main) == 0
    return seen[0]


def test_services_run_on_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvloop  # a dependency: its absence is a failure, not a skip

    assert loop_factory("uvloop") is uvloop.new_event_loop
    assert running_loop_module(monkeypatch, None).startswith("uvloop")


def test_asyncio_loop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    assert loop_factory("asyncio") is None
    assert running_loop_module(monkeypatch, "asyncio").startswith("asyncio")


def test_an_unknown_loop_is_refused() -> None:
    with pytest.raises(SystemExit, match="SEEDCHAIN_EVENT_LOOP"):
        loop_factory("trio")


def test_sigterm_cancels_the_service_which_cleans_up_and_exits_0() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from seedchain.runner import run_service

        async def main():
            print("ready", type(asyncio.get_running_loop()).__module__, flush=True)
            try:
                await asyncio.sleep(60)
            finally:
                print("cleaned up", flush=True)

        sys.exit(run_service(main))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("ready uvloop"), first
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=30)
    assert "cleaned up" in rest and proc.returncode == 0
