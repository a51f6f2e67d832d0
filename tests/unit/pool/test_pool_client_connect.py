"""How the Stratum miner client connects: its own name lookup, each address in turn, and a
deadline that leaves nothing running behind it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from pool.client import StratumMiner
from tests.framework.util import free_port

ADDRESS = "rsc1qt68gtluravv8qggugm9pzw83h9q4skeqn8v7y4"
Info = tuple[int, int, int, str, tuple[str, int]]


@pytest.fixture
async def listener() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that accepts and holds connections; yields its port."""
    writers: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


def lookup_returning(
    infos: list[Info], calls: list[str], delay: float = 0.0, error: Exception | None = None
) -> Callable[..., Any]:
    async def getaddrinfo(host: str, port: int, **_: object) -> list[Info]:
        calls.append(host)
        await asyncio.sleep(delay)
        if error is not None:
            raise error
        return infos

    return getaddrinfo


def info(port: int) -> Info:
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))


async def open_with(client: StratumMiner) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await client._open()
    finally:
        await client.miner.aclose()


async def test_a_name_is_looked_up_and_connected(listener: int) -> None:
    _, writer = await open_with(StratumMiner("localhost", listener, ADDRESS))
    assert writer.get_extra_info("peername")[1] == listener
    writer.close()


async def test_each_address_is_tried_in_turn(
    listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    loop = asyncio.get_running_loop()
    lookup = lookup_returning([info(free_port()), info(listener)], calls)
    monkeypatch.setattr(loop, "getaddrinfo", lookup)
    _, writer = await open_with(StratumMiner("pool.example", 3333, ADDRESS))
    assert calls == ["pool.example"]
    assert writer.get_extra_info("peername")[1] == listener
    writer.close()


async def test_no_address_that_answers_is_the_last_error(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    lookup = lookup_returning([info(free_port()), info(free_port())], [])
    monkeypatch.setattr(loop, "getaddrinfo", lookup)
    with pytest.raises(ConnectionRefusedError):
        await open_with(StratumMiner("pool.example", 3333, ADDRESS))


async def test_a_lookup_slower_than_the_deadline_is_cancelled_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    calls: list[str] = []
    slow = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(loop, "getaddrinfo", lookup_returning([], calls, 0.5, slow))
    client = StratumMiner("pool.example", 3333, ADDRESS, connect_timeout=0.05)
    with pytest.raises(TimeoutError):
        await open_with(client)
    await asyncio.sleep(0.6)  # past the moment the lookup would have failed
    assert calls == ["pool.example"]
    assert reported == []
