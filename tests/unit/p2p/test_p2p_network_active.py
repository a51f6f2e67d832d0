"""Core's ``setnetworkactive`` on the connection manager: off closes every connection and makes
or accepts none (configured peers, ``connect()``, inbound); on dials the configured peers again
at once; a manager can start with activity off."""

from __future__ import annotations

import asyncio

import pytest
from p2p_testkit import RecordingHandler, manager, wait_until

from p2p import ConnectFailed, ConnectionLimit


async def test_off_closes_everything_and_refuses_new_connections() -> None:
    handler = RecordingHandler()
    async with manager() as server, manager() as other, manager(handler) as node:
        await node.connect(f"127.0.0.1:{server.port}")
        await other.connect(f"127.0.0.1:{node.port}")
        await wait_until(lambda: len(node.peers()) == 2)
        states = [node.network_active]
        assert await node.set_network_active(False) == 2
        states.append(node.network_active)
        assert states == [True, False]
        assert node.peers() == []
        await wait_until(lambda: not server.peers() and not other.peers())
        assert {reason.code for _, reason in handler.disconnected} == {"network_inactive"}

        with pytest.raises(ConnectionLimit, match="network activity is off"):
            await node.connect(f"127.0.0.1:{server.port}")
        with pytest.raises(ConnectFailed):  # inbound: the upgrade is refused (503)
            await other.connect(f"127.0.0.1:{node.port}")
        assert node.peers() == [] and node.inbound_count == 0
        assert await node.set_network_active(False) == 0  # already off: nothing to close

        assert await node.set_network_active(True) == 0
        await other.connect(f"127.0.0.1:{node.port}")
        await node.connect(f"127.0.0.1:{server.port}")
        await wait_until(lambda: len(node.peers()) == 2)


async def test_configured_peers_wait_while_off_and_come_back_at_once() -> None:
    async with manager() as server:
        address = f"127.0.0.1:{server.port}"
        async with manager(peers=(address,), retry_initial=30, retry_max=60) as node:
            await wait_until(lambda: len(node.peers()) == 1)
            await node.set_network_active(False)
            await asyncio.sleep(0.3)  # no redial while off, although the peer is configured
            assert node.peers() == [] and server.peers() == []
            await node.set_network_active(True)
            # redialled at once, not after the 30 s backoff
            await wait_until(lambda: len(node.peers()) == 1, within=3)


async def test_a_manager_can_start_with_activity_off() -> None:
    async with manager() as server:
        address = f"127.0.0.1:{server.port}"
        async with manager(peers=(address,), network_active=False) as node:
            assert not node.network_active
            await asyncio.sleep(0.3)
            assert node.peers() == [] and server.peers() == []
            await node.set_network_active(True)
            await wait_until(lambda: len(node.peers()) == 1)
