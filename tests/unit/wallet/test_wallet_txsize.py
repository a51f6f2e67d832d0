"""The size arithmetic equals the canonical encoding's length for every shape."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.encoding import uint_size
from consensus.transaction import MAX_MONEY, OutPoint, Transaction, TxOut, Witness
from wallet.txsize import WITNESS_SIZE, signed_tx_size

outpoints = st.builds(
    OutPoint,
    st.binary(min_size=32, max_size=32),
    st.one_of(st.integers(0, 300), st.integers(0, 0xFFFF_FFFF)),
)
values = st.one_of(st.integers(0, 70_000), st.integers(0, MAX_MONEY))
outputs = st.builds(TxOut, values, st.binary(min_size=21, max_size=21) | st.binary(max_size=300))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(outpoints, min_size=0, max_size=40),
    st.lists(outputs, min_size=0, max_size=20),
    st.integers(0, 0xFFFF_FFFF),
    st.binary(max_size=80),
    st.integers(0, 0xFFFF_FFFF),
)
def test_size_matches_encoding(
    inputs: list[OutPoint], outs: list[TxOut], locktime: int, extra: bytes, version: int
) -> None:
    witnesses = tuple(Witness(bytes(32), bytes(64)) for _ in inputs)
    tx = Transaction(version, tuple(inputs), tuple(outs), locktime, extra, witnesses)
    assert signed_tx_size(inputs, outs, version=version, locktime=locktime, extra=extra) == tx.size


def test_widths() -> None:
    assert [uint_size(v) for v in (0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32)] == [
        1,
        1,
        2,
        2,
        3,
        3,
        5,
        5,
        9,
    ]
    assert WITNESS_SIZE == 101
