"""``--whitelist`` (Core's ``-whitelist=noban@SUBNET``): a whitelisted host that misbehaves is
closed but not discouraged, is let in past bans and discouragement, and is never evicted."""

from __future__ import annotations

import pytest
from p2p_testkit import RecordingHandler, manager, scripted_client, wait_until

from p2p import Message, Misbehaving, Peer, Ping, eviction
from p2p.banlist import InvalidSubnet, Whitelist
from p2p.errors import ConnectFailed


def test_whitelist_membership() -> None:
    whitelist = Whitelist(["127.0.0.0/8", "2001:db8::/32", "::ffff:10.0.0.0/104"])
    assert "127.0.0.1:8433" in whitelist and "127.9.9.9" in whitelist
    assert "[2001:db8::1]:8433" in whitelist and "10.1.2.3:1" in whitelist
    assert "128.0.0.1:1" not in whitelist and "seed.example:8433" not in whitelist
    assert "127.0.0.1" not in Whitelist() and len(whitelist) == 3
    with pytest.raises(InvalidSubnet):
        Whitelist(["127.0.0.1/8"])  # host bits set


def misbehaving_handler() -> RecordingHandler:
    handler = RecordingHandler()

    def judge(peer: Peer, message: Message) -> None:
        if isinstance(message, Ping) and message.nonce == 666:
            raise Misbehaving("sent the number of the beast")

    handler.on_message_hook = judge
    return handler


async def test_a_whitelisted_host_is_closed_but_not_discouraged_and_passes_bans() -> None:
    async with manager(misbehaving_handler(), whitelist=("127.0.0.0/8",)) as server:
        async with scripted_client(server.port) as client:
            await client.handshake()
            await client.send(Ping(666))
            _code, message = await client.wait_closed()
            assert message == "misbehaving"  # the connection still closes
        assert not server.is_discouraged("127.0.0.1")
        server.discourage("127.0.0.1:1", "by hand")
        server.banned.ban("127.0.0.1")
        async with scripted_client(server.port) as client:
            await client.handshake()  # neither the ban nor the discouragement refuses it
        await wait_until(lambda: server.inbound_count == 0)


async def test_whitelisted_peers_are_never_evicted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PROTECT_BY_NETGROUP", "PROTECT_BY_PING", "PROTECT_BY_TX", "PROTECT_BY_BLOCK"):
        monkeypatch.setattr(eviction, name, 0)
    async with (
        manager(max_inbound=1, whitelist=("127.0.0.0/8",)) as server,
        manager() as a,
        manager() as b,
    ):
        address = f"127.0.0.1:{server.port}"
        await a.connect(address)
        await wait_until(lambda: server.inbound_count == 1)
        with pytest.raises(ConnectFailed, match="status=503"):  # full; the only peer is kept
            await b.connect(address)
        assert len(a.peers()) == 1 and server.inbound_count == 1
