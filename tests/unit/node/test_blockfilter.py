"""Compact block filters (``node.blockfilter``, ``node.filterindex``): the Golomb-coded set
against an independent bit-by-bit encoder, membership without false negatives, rare false
positives, malformed filters refused, and the index's filters and header chain on a real chain
(reorgs and rebuilds are compared in test_addrindex's ``check_against_chain``)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.hashing import sha256d
from node.addrindex import AddressIndex
from node.blockfilter import (
    GENESIS_PREV_HEADER,
    FilterError,
    M,
    P,
    block_elements,
    build_filter,
    compact_size,
    decode_filter,
    filter_header,
    match_any,
    read_compact_size,
)
from node.chain import ChainState
from tests.framework.factory import ChainBuilder, Key
from tests.unit.node.test_addrindex import ALICE, BOB, MINER, feed, payments

KEY = bytes(range(32))
ELEMENTS = st.sets(st.binary(min_size=1, max_size=40), max_size=300)


def reference_filter(key: bytes, elements: set[bytes]) -> bytes:
    """BIP 158's encoder written out bit by bit, as a check on the string-based one."""
    n = len(elements)
    values = sorted(
        (
            int.from_bytes(hashlib.blake2b(e, key=key[:16], digest_size=8).digest(), "little")
            * n
            * M
        )
        >> 64
        for e in elements
    )
    bits: list[int] = []
    last = 0
    for value in values:
        delta, last = value - last, value
        bits += [1] * (delta >> P) + [0]
        bits += [(delta >> (P - 1 - i)) & 1 for i in range(P)]
    bits += [0] * (-len(bits) % 8)
    body = bytes(
        sum(bit << (7 - j) for j, bit in enumerate(bits[i : i + 8])) for i in range(0, len(bits), 8)
    )
    return compact_size(n) + body


@settings(max_examples=150, deadline=None)
@given(ELEMENTS, st.binary(min_size=32, max_size=32))
def test_the_filter_matches_every_element_and_the_reference_encoder(
    elements: set[bytes], key: bytes
) -> None:
    data = build_filter(key, elements)
    assert data == reference_filter(key, elements)
    assert data == build_filter(key, [*elements, *elements, b""])  # duplicates, empty: ignored
    values = decode_filter(data)
    assert len(values) == len(elements) and values == sorted(values)
    for element in elements:
        assert match_any(data, key, [element])
    assert match_any(data, key, [b"not", *elements]) == bool(elements)


def test_false_positives_are_rare() -> None:
    rng = random.Random(158)
    members = {rng.randbytes(22) for _ in range(500)}
    data = build_filter(KEY, members)
    strangers = [rng.randbytes(22) for _ in range(20_000)]
    hits = sum(match_any(data, KEY, [s]) for s in strangers)
    assert hits <= 2  # about 20,000 / M = 0.025 expected
    assert not match_any(data, KEY, [])
    # P + 1 bits per element at least: about 21 bits each here
    assert 500 * (P + 1) / 8 < len(data) < 500 * (P + 3) / 8


def test_empty_and_malformed_filters() -> None:
    assert build_filter(KEY, []) == b"\x00"
    assert decode_filter(b"\x00") == [] and not match_any(b"\x00", KEY, [b"x"])
    good = build_filter(KEY, [b"a", b"b", b"c"])
    for bad in (b"", good[:-1], b"\x05" + good[1:], b"\xfd\x01", b"\xff" + bytes(7)):
        with pytest.raises(FilterError):
            decode_filter(bad)
    with pytest.raises(FilterError):
        decode_filter(b"\x01" + b"\xff" * 4)  # a unary run that never ends


@pytest.mark.parametrize("n", [0, 1, 0xFC, 0xFD, 0xFFFF, 0x10000, 0xFFFF_FFFF, 2**32])
def test_compact_size_round_trip(n: int) -> None:
    encoded = compact_size(n)
    assert read_compact_size(encoded + b"rest") == (n, len(encoded))
    assert len(encoded) == (1 if n < 0xFD else 3 if n <= 0xFFFF else 5 if n < 2**32 else 9)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainState]:
    state = ChainState.open(tmp_path / "chain", ChainBuilder().params)
    yield state
    state.close()


def test_the_index_keeps_each_blocks_filter_and_the_header_chain(
    chain: ChainState, tmp_path: Path
) -> None:
    main = ChainBuilder(miner_key=MINER)
    main.mine(101)
    payments(main, 1)
    feed(chain, main.blocks[1:])
    index = AddressIndex(tmp_path / "index.sqlite", chain.params)
    try:
        assert index.sync(chain)
        previous = GENESIS_PREV_HEADER
        stranger = Key.from_index(99).lock
        for entry in chain.active:
            stored = index.block_filter(entry.hash)
            assert stored is not None and stored.height == entry.height
            block = chain.get_block(entry.hash)
            assert block is not None
            undo = chain.store.get_undo(entry.hash) if entry.height else []
            elements = block_elements(block, undo)
            assert stored.filter == build_filter(entry.hash, elements)
            assert all(match_any(stored.filter, entry.hash, [e]) for e in elements)
            assert not match_any(stored.filter, entry.hash, [stranger])
            assert stored.header == sha256d(sha256d(stored.filter) + previous)
            assert stored.header == filter_header(stored.filter, previous)
            previous = stored.header
        top = chain.tip
        last = index.block_filter(top.hash)
        assert last is not None
        # the payment blocks hold ALICE's and BOB's locks, received and (ALICE's) spent
        assert match_any(last.filter, top.hash, [BOB.lock])
        headers = index.filter_headers(top.height - 2, 10)
        assert [h.height for h in headers] == [top.height - 2, top.height - 1, top.height]
        assert headers[-1].header == last.header and headers[-1].filter == b""
        assert match_any(last.filter, top.hash, [ALICE.lock])
    finally:
        index.close()
