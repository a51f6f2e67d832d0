"""Property tests: canonical round trips, single-byte mutations, and apply/undo symmetry."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consensus.block import Block, BlockHeader
from consensus.coinbase import make_coinbase
from consensus.errors import DecodeError
from consensus.merkle import merkle_root
from consensus.params import REGTEST
from consensus.transaction import MAX_MONEY, OutPoint, Transaction, TxOut, Witness
from consensus.utxo import Coin, DictCoinView, connect_block, undo_block
from tests.framework.factory import Key

KEY = Key.from_index(3)

u32 = st.integers(0, 2**32 - 1)
hash32 = st.binary(min_size=32, max_size=32)
outpoints = st.builds(OutPoint, hash32, u32)
outputs = st.builds(TxOut, st.integers(0, 2**63 - 1), st.binary(max_size=40))
witnesses = st.builds(Witness, hash32, st.binary(min_size=64, max_size=64))


@st.composite
def transactions(draw: st.DrawFn) -> Transaction:
    ins = draw(st.lists(outpoints, max_size=4))
    return Transaction(
        draw(u32),
        tuple(ins),
        tuple(draw(st.lists(outputs, max_size=4))),
        draw(u32),
        draw(st.binary(max_size=80)),
        tuple(draw(st.lists(witnesses, min_size=len(ins), max_size=len(ins)))),
    )


@given(transactions())
def test_transaction_round_trip(tx: Transaction) -> None:
    decoded = Transaction.decode(tx.encoded)
    assert decoded == tx
    assert decoded.txid == tx.txid and decoded.wtxid == tx.wtxid
    assert decoded.encoded == tx.encoded


@given(transactions(), st.data())
def test_every_single_byte_mutation_is_rejected_or_canonical(
    tx: Transaction, data: st.DataObject
) -> None:
    """A mutated encoding either fails to decode or is itself the canonical encoding of what
    it decodes to: no transaction has two encodings."""
    raw = tx.encoded
    index = data.draw(st.integers(0, len(raw) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    mutated = raw[:index] + bytes([value]) + raw[index + 1 :]
    try:
        decoded = Transaction.decode(mutated)
    except DecodeError:
        return
    assert decoded.encoded == mutated
    assert decoded != tx


@given(st.lists(transactions(), min_size=1, max_size=5), u32, u32)
def test_block_round_trip(txs: list[Transaction], time: int, nonce: int) -> None:
    root, _ = merkle_root([tx.wtxid for tx in txs])
    block = Block(BlockHeader(1, b"\x07" * 32, root, time, 0x207FFFFF, nonce), tuple(txs))
    assert Block.decode(block.encoded, 10**7) == block
    assert BlockHeader.decode(block.header.encoded) == block.header


@st.composite
def view_and_block(draw: st.DrawFn) -> tuple[DictCoinView, Block, int]:
    """A UTXO set and a block whose transactions spend from it and from each other."""
    height = draw(st.integers(200, 10_000))
    n_coins = draw(st.integers(1, 12))
    view = DictCoinView()
    lock = KEY.lock
    for i in range(n_coins):
        view.add_coin(
            OutPoint(bytes([i]) * 32, draw(st.integers(0, 3))),
            Coin(
                draw(st.integers(1, MAX_MONEY // 64)),
                lock,
                draw(st.integers(0, 99)),
                draw(st.booleans()),
            ),
        )
    spendable = list(view.coins.items())
    txs: list[Transaction] = []
    while len(spendable) > 0 and draw(st.booleans()):
        k = draw(st.integers(1, min(3, len(spendable))))
        chosen, spendable = spendable[:k], spendable[k:]
        total = sum(c.value for _, c in chosen)
        pieces = draw(st.integers(1, 3))
        outs = tuple(TxOut(total // pieces, lock) for _ in range(pieces))
        wit = tuple(Witness(KEY.public, bytes(64)) for _ in chosen)
        tx = Transaction(1, tuple(op for op, _ in chosen), outs, 0, b"", wit)
        txs.append(tx)
        spendable += [
            (OutPoint(tx.txid, i), Coin(o.value, lock, height, False)) for i, o in enumerate(outs)
        ]
    coinbase = make_coinbase(height, [TxOut(0, lock)])
    block = Block(BlockHeader(1, bytes(32), bytes(32), 0, 0, 0), (coinbase, *txs))
    return view, block, height


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(view_and_block())
def test_apply_then_undo_restores_the_view(case: tuple[DictCoinView, Block, int]) -> None:
    view, block, height = case
    before = dict(view.coins)
    params = REGTEST
    # signatures are not under test here (verifier=None): the bookkeeping is
    undo = connect_block(block, height, view, params, verifier=None)
    assert view.coins != before or len(block.transactions) == 1
    undo_block(block, undo, view)
    assert view.coins == before
