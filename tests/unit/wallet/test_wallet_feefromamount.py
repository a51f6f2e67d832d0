"""The recipients pay the fee (Bitcoin Core's ``subtractfeefromamount``): coin selection
(``wallet.feefromamount``), the built transaction, and sends through a wallet session; and
fee bumps that decrease the payments (Electrum's "decrease payment", ``wallet.txreplace``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.transaction import COIN, TxOut
from tests.unit.wallet.test_wallet_coinselect import CHANGE_LOCK, PAY_LOCK, coin
from tests.unit.wallet.test_wallet_engine import OTHER, funded, lock, metadata_bytes
from tests.unit.wallet.test_wallet_send_many import THIRD
from wallet.coinselect import Selection, dust_threshold
from wallet.errors import FeeBumpError, InsufficientFunds, InvalidAmount
from wallet.feefromamount import SUBTRACT_FEE, select_subtracting_fee
from wallet.keys import CHANGE
from wallet.txsize import signed_tx_size

OTHER_LOCK = b"\x00" + b"\xbb" * 20
DUST = dust_threshold(PAY_LOCK)


def signed_size(selection: Selection) -> int:
    outputs = list(selection.payments)
    if selection.change:
        outputs.append(TxOut(selection.change, CHANGE_LOCK))
    return signed_tx_size([c.outpoint for c in selection.coins], outputs)


def check(selection: Selection, asked: list[TxOut], payers: tuple[int, ...], rate: int) -> None:
    """What every such selection keeps: the sums balance, the fee is paid at the rate, only
    the payers' payments shrink, and by shares at most one unit apart (the first's larger)."""
    assert selection.algorithm == SUBTRACT_FEE
    paid = sum(p.value for p in selection.payments)
    assert selection.total_in == paid + selection.change + selection.fee
    assert selection.size == signed_size(selection)
    assert rate * selection.size <= selection.fee
    assert sum(p.value for p in asked) <= selection.total_in  # the coins cover the payments
    cuts = [a.value - p.value for a, p in zip(asked, selection.payments, strict=True)]
    for index, (cut, payment) in enumerate(zip(cuts, selection.payments, strict=True)):
        assert payment.lock == asked[index].lock
        assert cut >= 0 and (cut == 0 or index in payers)
        assert payment.value >= DUST
    first, *others = [cuts[i] for i in payers]
    assert len(set(others)) <= 1  # equal shares, and the first pays what does not divide
    assert 0 <= first - (others[0] if others else first) < len(payers)
    if selection.change:
        assert selection.change == selection.total_in - sum(a.value for a in asked)
        assert sum(cuts) == selection.fee  # the recipients paid all of it


def test_no_change_the_recipient_pays_the_whole_fee() -> None:
    coins = [coin(1, COIN)]
    selection = select_subtracting_fee(coins, [TxOut(COIN, PAY_LOCK)], 3, CHANGE_LOCK, [0])
    assert selection.change == 0 and len(selection.coins) == 1
    assert selection.payments[0].value == COIN - selection.fee
    assert selection.fee == 3 * selection.size  # no width boundary here: exactly the rate
    check(selection, [TxOut(COIN, PAY_LOCK)], (0,), 3)


def test_change_keeps_the_excess_whole() -> None:
    coins = [coin(1, 2 * COIN), coin(2, COIN // 2)]
    asked = [TxOut(COIN, PAY_LOCK)]
    selection = select_subtracting_fee(coins, asked, 2, CHANGE_LOCK, [0])
    assert [c.value for c in selection.coins] == [2 * COIN]  # largest first, one is enough
    assert selection.change == COIN  # what the coins hold above the payment, all of it
    assert selection.payments[0].value == COIN - selection.fee
    check(selection, asked, (0,), 2)


def test_excess_below_dust_pays_part_of_the_fee() -> None:
    asked = [TxOut(COIN, PAY_LOCK)]
    for excess in (1, 100, DUST - 1):
        selection = select_subtracting_fee([coin(1, COIN + excess)], asked, 1, CHANGE_LOCK, [0])
        assert selection.change == 0
        owed = max(0, selection.size - excess)
        assert selection.payments[0].value == COIN - owed
        assert selection.fee == selection.size + max(0, excess - selection.size)
        check(selection, asked, (0,), 1)
    # an excess above the fee but below dust: the recipient pays nothing, the fee is the excess
    selection = select_subtracting_fee([coin(1, COIN + 400)], asked, 1, CHANGE_LOCK, [0])
    assert selection.payments == tuple(asked) and selection.fee == 400


def test_the_fee_splits_among_the_payers_the_first_paying_the_remainder() -> None:
    asked = [TxOut(COIN, PAY_LOCK), TxOut(2 * COIN, OTHER_LOCK), TxOut(COIN, CHANGE_LOCK[:-1])]
    coins = [coin(1, 4 * COIN)]
    selection = select_subtracting_fee(coins, asked, 7, CHANGE_LOCK, [2, 0])
    cuts = [a.value - p.value for a, p in zip(asked, selection.payments, strict=True)]
    share, remainder = divmod(selection.fee, 2)
    assert cuts == [share, 0, share + remainder]  # payer 2 is named first: it pays the rest
    check(selection, asked, (2, 0), 7)
    every = select_subtracting_fee(coins, asked, 7, CHANGE_LOCK, [0, 1, 2])
    check(every, asked, (0, 1, 2), 7)


def test_refusals() -> None:
    coins = [coin(1, COIN)]
    asked = [TxOut(COIN, PAY_LOCK)]
    with pytest.raises(InsufficientFunds) as info:
        select_subtracting_fee(coins, [TxOut(COIN + 1, PAY_LOCK)], 1, CHANGE_LOCK, [0])
    assert (info.value.available, info.value.needed) == (COIN, COIN + 1)
    small = [TxOut(DUST + 10, PAY_LOCK)]
    with pytest.raises(InvalidAmount, match="too small to pay its share"):
        select_subtracting_fee([coin(1, DUST + 10)], small, 1, CHANGE_LOCK, [0])
    for payers in ([], [1], [-1], [0, 0]):
        with pytest.raises(InvalidAmount, match="take the fee from"):
            select_subtracting_fee(coins, asked, 1, CHANGE_LOCK, payers)
    with pytest.raises(InvalidAmount, match="dust"):
        select_subtracting_fee(coins, [TxOut(10, PAY_LOCK)], 1, CHANGE_LOCK, [0])


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.integers(1_000, 3 * COIN), min_size=1, max_size=8),
    asked=st.lists(st.integers(DUST, 2 * COIN), min_size=1, max_size=3),
    rate=st.integers(1, 50),
    data=st.data(),
)
def test_every_selection_balances(
    values: list[int], asked: list[int], rate: int, data: st.DataObject
) -> None:
    coins = [coin(i, value) for i, value in enumerate(values)]
    locks = [PAY_LOCK, OTHER_LOCK, b"\x00" + b"\xdd" * 20]
    payments = [TxOut(value, locks[i]) for i, value in enumerate(asked)]
    payers = tuple(data.draw(st.lists(st.sampled_from(range(len(asked))), min_size=1, unique=True)))
    try:
        selection = select_subtracting_fee(coins, payments, rate, CHANGE_LOCK, payers)
    except InsufficientFunds:
        assert sum(values) < sum(asked)
        return
    except InvalidAmount as error:
        assert "too small to pay its share" in str(error)
        return
    check(selection, payments, payers, rate)


async def test_a_send_whose_recipients_pay_the_fee(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    result = await session.send_many(
        [(OTHER.address(), 3 * COIN), (THIRD.address(), COIN)], 2, subtract_fee_from=[0, 1]
    )
    tx = node.mempool[-1]
    received = dict(result.payments)
    assert sum(received.values()) + result.fee == 4 * COIN  # the fee came out of the 4 coins
    assert TxOut(received[OTHER.address()], OTHER.lock) in tx.outputs
    assert TxOut(received[THIRD.address()], THIRD.lock) in tx.outputs
    assert TxOut(result.change or 0, lock(0, CHANGE)) in tx.outputs
    assert result.change == 50 * COIN - 4 * COIN  # our change is whole
    data = result.to_json()
    assert data["fee_from_amount"] is True and data["sent_all"] is False
    assert data["amount"] == 4 * COIN - result.fee


async def test_a_refused_fee_split_changes_nothing(tmp_path: Path) -> None:
    _, session = funded(tmp_path)
    before = metadata_bytes(session)
    with pytest.raises(InvalidAmount, match="too small to pay its share"):
        await session.send_many([(OTHER.address(), 600)], 50, subtract_fee_from=[0])
    assert metadata_bytes(session) == before


async def test_a_bump_that_decreases_the_payments(tmp_path: Path) -> None:
    node, session = funded(tmp_path)
    payments = [(OTHER.address(), 3 * COIN), (THIRD.address(), COIN)]
    sent = await session.send_many(payments, 2, subtract_fee_from=[0])
    original = node.mempool[-1]
    bump = await session.bump(sent.txid, 9, decrease_payment=True)
    (replacement,) = node.mempool
    assert replacement.txid == bump.txid and bump.replaces == sent.txid
    assert replacement.inputs == original.inputs  # no coin added
    assert TxOut(sent.change or 0, lock(0, CHANGE)) in replacement.outputs  # change as it was
    increase = bump.fee - sent.fee
    received = {out.lock: out.value for out in replacement.outputs}
    before = dict(sent.payments)
    cuts = [before[OTHER.address()] - received[OTHER.lock], COIN - received[THIRD.lock]]
    assert sorted(cuts) == [increase // 2, increase - increase // 2]  # split equally
    assert bump.fee >= 9 * replacement.size and bump.fee > sent.fee


async def test_a_decreasing_bump_without_change_or_room_is_refused_cleanly(
    tmp_path: Path,
) -> None:
    node, session = funded(tmp_path)
    sent = await session.send_many([(OTHER.address(), 50 * COIN)], 1, subtract_fee_from=[0])
    assert sent.change is None  # the one coin, all of it, less the fee
    bump = await session.bump(sent.txid, 3, decrease_payment=True)
    assert node.mempool[-1].txid == bump.txid and len(node.mempool[-1].inputs) == 1
    small = await session.send_many([(THIRD.address(), 1000)], 1, subtract_fee_from=[0])
    before = metadata_bytes(session)
    with pytest.raises(FeeBumpError, match="cannot decrease the payments"):
        await session.bump(small.txid, 40, decrease_payment=True)
    assert metadata_bytes(session) == before
