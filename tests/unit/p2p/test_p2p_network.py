"""Connection managers talking over loopback: handshake, ping, relay, gossip, reconnection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from p2p_testkit import (
    RecordingHandler,
    manager,
    other_chain,
    sample_tx,
    scripted_client,
    wait_until,
)

from p2p import (
    INV_TX,
    AddressBook,
    ConnectFailed,
    ConnectionLimit,
    Inv,
    InvItem,
    SelfConnection,
    TxMessage,
    WrongChain,
)
from tests.framework.util import free_port


async def test_handshake_ping_and_a_transaction() -> None:
    ha, hb = RecordingHandler(), RecordingHandler()
    async with manager(ha) as a, manager(hb) as b:
        peer = await a.connect(f"127.0.0.1:{b.port}")
        assert peer.connected and not peer.inbound
        assert a.peers() == [peer]
        await wait_until(lambda: len(b.peers()) == 1)
        assert b.peers()[0].inbound
        latency = await peer.ping()
        assert latency > 0 and peer.stats.messages_in_by_command["pong"] == 1

        tx = sample_tx(7)
        await peer.send(TxMessage(tx))
        await wait_until(lambda: bool(hb.received("tx")))
        (received,) = hb.received("tx")
        assert isinstance(received, TxMessage) and received.transaction == tx
        assert received.transaction.txid == tx.txid
        assert ha.connected == [peer] and len(hb.connected) == 1

        assert await a.disconnect(f"127.0.0.1:{b.port}")
        await wait_until(lambda: not b.peers() and len(hb.disconnected) == 1)
        assert [r.code for _, r in ha.disconnected] == ["local"]
        assert not a.is_discouraged("127.0.0.1") and not b.is_discouraged("127.0.0.1")


async def test_broadcast_and_announce_never_echo_to_the_sender() -> None:
    ha, hb, hc = RecordingHandler(), RecordingHandler(), RecordingHandler()
    async with manager(ha) as a, manager(hb) as b, manager(hc) as c:
        await a.connect(f"127.0.0.1:{b.port}")
        await c.connect(f"127.0.0.1:{b.port}")
        await wait_until(lambda: len(b.peers()) == 2)
        tx = sample_tx(1)
        await a.peers()[0].send(TxMessage(tx))
        await wait_until(lambda: bool(hb.received("tx")))
        from_a = hb.messages[-1][0]
        item = InvItem(INV_TX, tx.txid)
        assert await b.announce([item]) == 1  # a already has it
        await wait_until(lambda: bool(hc.received("inv")))
        assert hc.received("inv") == [Inv((item,))]
        assert await b.announce([item]) == 0  # c knows it now
        assert await b.broadcast(TxMessage(sample_tx(2)), exclude=from_a) == 1
        await wait_until(lambda: len(hc.received("tx")) == 1)
        for peer in c.peers():
            await peer.ping()  # a round trip: anything a would have got has arrived
        for peer in a.peers():
            await peer.ping()
        assert ha.received("inv") == [] and ha.received("tx") == []


async def test_wrong_chain_is_refused() -> None:
    async with manager() as a, manager(params=other_chain(chain_id=b"seedchain-other")) as b:
        with pytest.raises(WrongChain):
            await a.connect(f"127.0.0.1:{b.port}")
        await wait_until(lambda: not a.peers() and not b.peers() and b.inbound_count == 0)
        assert not a.is_discouraged("127.0.0.1") and not b.is_discouraged("127.0.0.1")


async def test_self_connection_is_detected() -> None:
    async with manager() as a:
        with pytest.raises(SelfConnection):
            await a.connect(f"127.0.0.1:{a.port}")
        await wait_until(lambda: a.inbound_count == 0 and a.outbound_count == 0)


async def test_connection_limits() -> None:
    async with manager(max_inbound=1) as server, manager(max_outbound=1) as a, manager() as b:
        await a.connect(f"127.0.0.1:{server.port}")
        with pytest.raises(ConnectionLimit):
            await a.connect(f"127.0.0.1:{b.port}")  # a's one outbound slot is taken
        with pytest.raises(ConnectFailed):
            await b.connect(f"127.0.0.1:{server.port}")  # the server's one inbound slot too
        assert server.inbound_count == 1


async def test_configured_peer_that_comes_up_later_is_reached_with_backoff() -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    async with manager(peers=(address,), retry_initial=0.05, retry_max=0.2) as a:
        await asyncio.sleep(0.3)  # several failed dials by now
        assert a.peers() == []
        async with manager(bind_port=port) as b:
            await wait_until(lambda: len(a.peers()) == 1, within=5)
            assert a.peers()[0].address == address
            # Dropped: the configured peer is dialled again.
            first = a.peers()[0]
            await b.disconnect(next(iter(b.peers())).address)
            await wait_until(lambda: len(a.peers()) == 1 and a.peers()[0] is not first)


async def test_addr_gossip_and_dialling_from_the_address_book(tmp_path: Path) -> None:
    book_a = AddressBook(tmp_path / "a")
    for i in range(5):
        book_a.add(f"10.0.0.{i}:8733", 1)
    book_b = AddressBook(tmp_path / "b")
    async with manager(addrbook=book_a) as a:
        book_b.add(f"127.0.0.1:{a.port}", 1)
        async with manager(addrbook=book_b, dial_from_addrbook=True, max_outbound=1,
                           outbound_interval=0.05) as b:
            await wait_until(lambda: len(b.peers()) == 1)  # dialled from its book
            # b asked getaddr on connecting; a answered with its book.
            await wait_until(lambda: all(f"10.0.0.{i}:8733" in book_b for i in range(5)))
            info = book_b.get(f"127.0.0.1:{a.port}")
            assert info is not None and info.last_success > 0
    # Saved at shutdown.
    assert "10.0.0.3:8733" in AddressBook(tmp_path / "b")


async def test_many_connects_and_drops_then_a_normal_peer_works() -> None:
    handler = RecordingHandler()
    async with manager(handler) as server:

        async def flap(i: int) -> None:
            async with scripted_client(server.port) as client:
                if i % 2:
                    await client.handshake(nonce=1000 + i)

        for start in range(0, 200, 25):
            await asyncio.gather(*(flap(i) for i in range(start, start + 25)))
        await wait_until(lambda: server.inbound_count == 0)
        assert not server.is_discouraged("127.0.0.1")
        async with manager() as a:
            peer = await a.connect(f"127.0.0.1:{server.port}")
            assert await peer.ping() > 0
            await peer.send(TxMessage(sample_tx(9)))
            await wait_until(lambda: bool(handler.received("tx")))
        assert len(handler.connected) == 101


async def test_a_port_in_use_fails_start_up_cleanly() -> None:
    async with manager() as a:
        with pytest.raises(RuntimeError) as excinfo:
            async with manager(bind_port=a.port):
                pass
        assert isinstance(excinfo.value.__cause__, OSError)
        assert a.peers() == []  # the first one is untouched
