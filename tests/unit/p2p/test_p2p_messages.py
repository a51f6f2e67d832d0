"""Messages and frames: round trips for every command, and strict decoding."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address, IPv6Address

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from p2p_testkit import remote_version, sample_tx

from consensus.params import REGTEST
from p2p import (
    INV_BLOCK,
    INV_TX,
    MAX_FRAME,
    MESSAGE_TYPES,
    Addr,
    AddrEntry,
    BlockMessage,
    FeeFilter,
    FrameTooLarge,
    GetAddr,
    GetData,
    GetHeaders,
    Headers,
    Inv,
    InvItem,
    MalformedMessage,
    Mempool,
    Message,
    NotFound,
    Ping,
    Pong,
    SendCmpct,
    TxMessage,
    UnknownCommand,
    Verack,
    Version,
    canonical_address,
    decode_frame,
    encode_frame,
    format_address,
)
from p2p.messages import MAX_ADDR_ENTRIES, MAX_HEADERS, MAX_INV_ITEMS, MAX_LOCATOR_HASHES

P = REGTEST
H = bytes(range(32))


def pack(obj: object) -> bytes:
    packed: bytes = msgpack.packb(obj, use_bin_type=True)
    return packed


def roundtrip(message: Message) -> Message:
    decoded = decode_frame(encode_frame(message), P)
    assert decoded == message
    assert type(decoded) is type(message)
    return decoded


EVERY_MESSAGE: list[Message] = [
    remote_version(),
    Version(1, b"seedchain-regtest", H, 7, 1, "", 2**64 - 1, "", 0),
    Version(1, b"x", H, 0, 0, "/ua/", 0, "[2001:db8::1]:8733", 2**63 - 1),
    Version(1, b"x", H, 0, 0, "/ua/", 0, "node.example.org:8733", 1),
    Verack(),
    Ping(0),
    Ping(2**64 - 1),
    Pong(42),
    Inv((InvItem(INV_TX, H), InvItem(INV_BLOCK, bytes(32)))),
    Inv(()),
    GetData((InvItem(INV_BLOCK, H),)),
    NotFound((InvItem(INV_TX, H),)),
    TxMessage(sample_tx()),
    BlockMessage(P.genesis),
    GetHeaders((H, bytes(32)), bytes(32)),
    GetHeaders((), H),
    Headers((P.genesis.header,)),
    Headers(()),
    Mempool(),
    GetAddr(),
    Addr((AddrEntry("127.0.0.1:8733", 1, 1_700_000_000), AddrEntry("[::1]:1", 0, 0))),
    SendCmpct(True, 1),
    FeeFilter(1000),
]


@pytest.mark.parametrize("message", EVERY_MESSAGE, ids=lambda m: m.command)
def test_round_trip(message: Message) -> None:
    roundtrip(message)


def test_every_registered_command_has_a_round_trip() -> None:
    assert {m.command for m in EVERY_MESSAGE} == set(MESSAGE_TYPES)
    assert all(MESSAGE_TYPES[type(m).command] is type(m) for m in EVERY_MESSAGE)


def test_block_and_tx_decode_to_equal_objects_with_same_hashes() -> None:
    block = roundtrip(BlockMessage(P.genesis))
    assert isinstance(block, BlockMessage) and block.block.hash == P.genesis.hash
    tx = roundtrip(TxMessage(sample_tx(3)))
    assert isinstance(tx, TxMessage) and tx.transaction.txid == sample_tx(3).txid


def test_ping_and_pong_are_distinct() -> None:
    ping: Message = Ping(1)  # typed as the base class: mypy knows Ping and Pong never compare equal
    assert ping != Pong(1)
    assert not isinstance(Pong(1), Ping)
    assert not isinstance(GetData(()), Inv)


hashes = st.binary(min_size=32, max_size=32)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_ping_property(nonce: int) -> None:
    roundtrip(Ping(nonce))
    roundtrip(Pong(nonce))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([INV_TX, INV_BLOCK]), hashes), max_size=40))
def test_inventory_property(items: list[tuple[int, bytes]]) -> None:
    inv = tuple(InvItem(t, h) for t, h in items)
    for cls in (Inv, GetData, NotFound):
        roundtrip(cls(inv))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.binary(max_size=64),
    hashes,
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**64 - 1),
    st.text(st.characters(categories=["L", "N", "P"]), max_size=256),
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**63 - 1),
)
def test_version_property(
    pv: int, chain: bytes, genesis: bytes, height: int, services: int, ua: str, nonce: int,
    ts: int,
) -> None:
    roundtrip(Version(pv, chain, genesis, height, services, ua, nonce, "10.0.0.1:8733", ts))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.ip_addresses(), st.integers(1, 65535), st.integers(0, 2**64 - 1),
                  st.integers(0, 2**63 - 1)),
        max_size=30,
    ),
    st.lists(hashes, max_size=MAX_LOCATOR_HASHES),
)
def test_addr_and_getheaders_property(
    entries: list[tuple[IPv4Address | IPv6Address, int, int, int]], locator: list[bytes]
) -> None:
    addr = tuple(
        AddrEntry(canonical_address(format_address(str(ip), port)), services, seen)
        for ip, port, services, seen in entries
    )
    roundtrip(Addr(addr))
    roundtrip(GetHeaders(tuple(locator), bytes(32)))


# --- strict decoding ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "frame",
    [
        pack(["ping", [-1]]),  # negative
        pack(["ping", [True]]),  # a bool is not an int
        pack(["ping", [1.0]]),  # a float is not an int
        pack(["ping", ["1"]]),
        pack(["ping", []]),  # missing field
        pack(["ping", [1, 2]]),  # extra field
        pack(["ping", 1]),  # payload not an array
        pack(["ping", None]),
        pack(["verack", [None]]),
        pack(["inv", [[[3, H]]]]),  # unknown inventory type
        pack(["inv", [[[1, H[:31]]]]]),  # short hash
        pack(["inv", [[[1, H, 0]]]]),
        pack(["inv", [[[1, "x" * 32]]]]),  # str, not bin
        pack(["getheaders", [[H] * (MAX_LOCATOR_HASHES + 1), H]]),
        pack(["headers", [[bytes(79)]]]),
        pack(["headers", [[bytes(80)] * (MAX_HEADERS + 1)]]),
        pack(["addr", [[["8.8.8.8:1", 0, 0]] * (MAX_ADDR_ENTRIES + 1)]]),
        pack(["addr", [[["example.com:1", 0, 0]]]]),  # gossip must be an IP
        pack(["addr", [[["8.8.8.8:0", 0, 0]]]]),  # port 0
        pack(["addr", [[["[::ffff:1.2.3.4]:1", 0, 0]]]]),  # not canonical
        pack(["addr", [[["8.8.8.8", 0, 0]]]]),  # no port
        pack(["tx", [b"\x00"]]),
        pack(["tx", [sample_tx().encoded + b"\x00"]]),  # trailing bytes inside the tx
        pack(["block", [P.genesis.encoded[:80]]]),
        pack(["version", remote_version().to_payload()[:8]]),
        pack(["version", [*remote_version().to_payload()[:5], "x" * 257,
                          *remote_version().to_payload()[6:]]]),
        pack(["version", [*remote_version().to_payload()[:5], "bad\x00ua",
                          *remote_version().to_payload()[6:]]]),
        pack(["version", [*remote_version().to_payload()[:7], "no-port",
                          remote_version().timestamp]]),
        pack(["sendcmpct", [1, 1]]),  # int, not bool
        pack(["feefilter", [-5]]),
    ],
    ids=lambda _frame: "frame",  # stable: some frames carry the current time
)
def test_malformed_payloads_are_refused(frame: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_frame(frame, P)


def test_u64_overflow_is_refused() -> None:
    # msgpack cannot carry 2**64 as an int; a negative int64 must not pass as a nonce.
    with pytest.raises(MalformedMessage):
        decode_frame(pack(["ping", [-(2**63)]]), P)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\xc1",  # never-used msgpack byte
        pack(["ping"]),
        pack(["ping", [1], 2]),
        pack("ping"),
        pack({"ping": [1]}),  # maps are refused outright
        pack(["ping", {"nonce": 1}]),
        pack([1, [1]]),  # command not a string
        pack(["", []]),
        pack([b"ping", [1]]),  # command as bin
        pack(["ping", [1]]) + b"\x00",  # trailing bytes
        pack(["ping", [msgpack.ExtType(1, b"x")]]),  # ext types refused
        b"\x92\xa4ping\x91\xd9\x02\xff\xfe",  # invalid UTF-8 string
        pack(["inv", [[[1, H]] * (MAX_INV_ITEMS + 1)]]),  # array over the unpacker limit
        pack(["version", [1, b"x", H, 0, 0, "x" * 2000, 0, "", 0]]),  # string over the limit
    ],
)
def test_malformed_frames_are_refused(frame: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_frame(frame, P)


def test_unknown_command() -> None:
    with pytest.raises(UnknownCommand):
        decode_frame(pack(["nosuchcmd", []]), P)
    with pytest.raises(MalformedMessage):  # UnknownCommand is a MalformedMessage
        decode_frame(pack(["alert", [b"x"]]), P)


def test_block_over_the_network_limit_is_refused() -> None:
    tight = dataclasses.replace(REGTEST, max_block_size=P.genesis.size - 1)
    with pytest.raises(MalformedMessage):
        decode_frame(encode_frame(BlockMessage(P.genesis)), tight)


def test_frame_limits() -> None:
    exactly = b"\x00" * MAX_FRAME
    with pytest.raises(MalformedMessage) as excinfo:  # decoded (and refused), not too large
        decode_frame(exactly, P)
    assert not isinstance(excinfo.value, FrameTooLarge)
    with pytest.raises(FrameTooLarge):
        decode_frame(exactly + b"\x00", P)
    with pytest.raises(FrameTooLarge):
        encode_frame(Inv((InvItem(INV_TX, H),) * (MAX_FRAME // 30)))


def test_largest_inv_fits_in_a_frame() -> None:
    message = Inv((InvItem(INV_TX, H),) * MAX_INV_ITEMS)
    assert len(encode_frame(message)) <= MAX_FRAME
    assert decode_frame(encode_frame(message), P) == message
