"""Building, signing and fee-bumping payments, checked by the consensus rules themselves."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest

from consensus.params import REGTEST
from consensus.signing import verify_batch
from consensus.transaction import COIN, OutPoint, Transaction, TxOut
from consensus.tx_rules import check_transaction_inputs, check_transaction_sanity, signature_jobs
from consensus.utxo import Coin, DictCoinView
from wallet.coinselect import SpendableCoin
from wallet.errors import FeeBumpError, InsufficientFunds, WalletError
from wallet.keys import CHANGE, Keychain, KeyId
from wallet.mnemonic import mnemonic_to_seed
from wallet.txbuild import BuiltTransaction, build_payment
from wallet.txreplace import INCREMENTAL_RELAY_FEE_RATE, bump_fee, check_replacement

MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
KEYS = Keychain.from_seed(mnemonic_to_seed(MNEMONIC))
RECIPIENT = b"\x00" + b"\x42" * 20
HEIGHT = 200


def make_coins(values: Sequence[int], start: int = 0) -> tuple[list[SpendableCoin], DictCoinView]:
    coins = []
    view = DictCoinView()
    for n, value in enumerate(values, start=start):
        key = KEYS.receive_key(n)
        outpoint = OutPoint(hashlib.sha256(b"funding" + bytes([n])).digest(), n % 3)
        coins.append(SpendableCoin(outpoint, value, key.lock, key.key_id))
        view.add_coin(outpoint, Coin(value, key.lock, 10, coinbase=(n % 2 == 0)))
    return coins, view


def verify(tx: Transaction, view: DictCoinView) -> int:
    """Run the consensus checks a node would; return the fee they compute."""
    assert Transaction.decode(tx.encoded) == tx
    check_transaction_sanity(tx)
    spent = [view.get_coin(outpoint) for outpoint in tx.inputs]
    assert all(coin is not None for coin in spent)
    coins = [coin for coin in spent if coin is not None]
    fee = check_transaction_inputs(tx, coins, HEIGHT, REGTEST)
    jobs = signature_jobs(tx, [coin.output for coin in coins], REGTEST.chain_id)
    assert verify_batch(jobs) == -1
    return fee


def test_payment_with_change_passes_consensus() -> None:
    coins, view = make_coins([3 * COIN, 2 * COIN, COIN])
    built = build_payment(KEYS, coins, RECIPIENT, 4 * COIN, 3, 5, REGTEST.chain_id)
    assert verify(built.tx, view) == built.fee == 3 * built.tx.size
    assert TxOut(4 * COIN, RECIPIENT) in built.tx.outputs
    assert built.change_vout is not None and built.change_key == KeyId(CHANGE, 5)
    change = built.tx.outputs[built.change_vout]
    assert change.lock == KEYS.change_key(5).lock
    assert sum(c.value for c in built.coins) == 4 * COIN + change.value + built.fee
    assert list(built.tx.inputs) == sorted(built.tx.inputs, key=OutPoint.key)
    assert built.spent_outputs == [TxOut(c.value, c.lock) for c in built.coins]


def test_payment_without_change() -> None:
    coins, view = make_coins([50_000_000])
    # About 175 bytes at 2/byte: 600 units over the amount is within BnB's cost of change.
    built = build_payment(KEYS, coins, RECIPIENT, 50_000_000 - 600, 2, 0, REGTEST.chain_id)
    assert built.change_vout is None and built.change_key is None
    assert verify(built.tx, view) == built.fee >= 2 * built.tx.size


def test_payment_respects_reserved_coins() -> None:
    coins, _ = make_coins([5 * COIN, COIN, COIN])
    built = build_payment(
        KEYS, coins, RECIPIENT, COIN // 2, 1, 0, REGTEST.chain_id, exclude={coins[0].outpoint}
    )
    assert coins[0].outpoint not in built.inputs
    with pytest.raises(InsufficientFunds):
        build_payment(
            KEYS, coins, RECIPIENT, 3 * COIN, 1, 0, REGTEST.chain_id, exclude={coins[0].outpoint}
        )


def test_coin_not_ours_is_refused() -> None:
    coins, _ = make_coins([COIN])
    stranger = coins[0]._replace(lock=b"\x00" + b"\x01" * 20)
    with pytest.raises(WalletError, match="not locked to our key"):
        build_payment(KEYS, [stranger], RECIPIENT, COIN // 2, 1, 0, REGTEST.chain_id)


def original_fee(built: BuiltTransaction) -> int:
    return sum(c.value for c in built.coins) - built.tx.total_out()


def test_fee_bump_reduces_change() -> None:
    coins, view = make_coins([3 * COIN, 2 * COIN])
    old = build_payment(KEYS, coins, RECIPIENT, 4 * COIN, 2, 0, REGTEST.chain_id)
    assert old.change_vout is not None and old.change_key is not None
    new = bump_fee(
        old.tx,
        old.coins,
        10,
        KEYS,
        REGTEST.chain_id,
        change_vout=old.change_vout,
        change_key=old.change_key,
    )
    assert set(new.tx.inputs) == set(old.tx.inputs)
    assert TxOut(4 * COIN, RECIPIENT) in new.tx.outputs
    assert new.change_vout is not None
    assert new.tx.outputs[new.change_vout].value < old.tx.outputs[old.change_vout].value
    assert verify(new.tx, view) == new.fee
    old_fee, old_size, new_size = original_fee(old), old.tx.size, new.tx.size
    assert new.fee >= old_fee + INCREMENTAL_RELAY_FEE_RATE * new_size
    assert new.fee * old_size > old_fee * new_size
    assert new.fee >= 10 * new_size
    check_replacement(old_fee, old_size, new.fee, new_size, INCREMENTAL_RELAY_FEE_RATE)


def test_fee_bump_by_the_smallest_step_still_pays_incremental_relay() -> None:
    coins, view = make_coins([3 * COIN])
    old = build_payment(KEYS, coins, RECIPIENT, COIN, 5, 0, REGTEST.chain_id)
    assert old.change_vout is not None and old.change_key is not None
    new = bump_fee(
        old.tx,
        old.coins,
        6,
        KEYS,
        REGTEST.chain_id,
        change_vout=old.change_vout,
        change_key=old.change_key,
        incremental_fee_rate=3,
    )
    # 6/byte alone is not enough: the floor old_fee + 3/byte decides.
    assert new.fee == original_fee(old) + 3 * new.tx.size
    check_replacement(original_fee(old), old.tx.size, new.fee, new.tx.size, 3)
    verify(new.tx, view)


def test_fee_bump_adds_inputs_when_change_is_not_enough() -> None:
    coins, view = make_coins([COIN, 5 * COIN, 2 * COIN])
    size_guess = 250
    old = build_payment(KEYS, coins[:1], RECIPIENT, COIN - 2 * size_guess, 2, 0, REGTEST.chain_id)
    assert old.change_vout is None  # everything went to the payment and the fee
    with pytest.raises(InsufficientFunds):
        bump_fee(
            old.tx,
            old.coins,
            50,
            KEYS,
            REGTEST.chain_id,
            change_vout=None,
            change_key=KeyId(CHANGE, 1),
        )
    new = bump_fee(
        old.tx,
        old.coins,
        50,
        KEYS,
        REGTEST.chain_id,
        change_vout=None,
        change_key=KeyId(CHANGE, 1),
        coins=coins[1:],
    )
    assert set(old.tx.inputs) < set(new.tx.inputs)
    assert new.change_key == KeyId(CHANGE, 1)
    assert verify(new.tx, view) == new.fee
    check_replacement(original_fee(old), old.tx.size, new.fee, new.tx.size, 1)


def test_fee_bump_rate_must_be_higher() -> None:
    coins, _ = make_coins([3 * COIN])
    old = build_payment(KEYS, coins, RECIPIENT, COIN, 5, 0, REGTEST.chain_id)
    assert old.change_vout is not None and old.change_key is not None
    with pytest.raises(FeeBumpError, match="not above"):
        bump_fee(
            old.tx,
            old.coins,
            5,
            KEYS,
            REGTEST.chain_id,
            change_vout=old.change_vout,
            change_key=old.change_key,
        )
    with pytest.raises(FeeBumpError, match="not the inputs"):
        bump_fee(
            old.tx,
            old.coins[:0],
            9,
            KEYS,
            REGTEST.chain_id,
            change_vout=None,
            change_key=KeyId(1, 0),
        )
    with pytest.raises(FeeBumpError, match="not its change"):
        other = 1 - old.change_vout
        bump_fee(
            old.tx,
            old.coins,
            9,
            KEYS,
            REGTEST.chain_id,
            change_vout=other,
            change_key=old.change_key,
        )


def test_check_replacement_rules() -> None:
    check_replacement(1000, 200, 1200, 200, 1)
    with pytest.raises(FeeBumpError):
        check_replacement(1000, 200, 1199, 200, 1)  # below old fee + 1 x 200
    with pytest.raises(FeeBumpError):
        check_replacement(1000, 100, 2300, 1200, 1)  # enough absolute fee, lower rate


def test_signature_binds_the_network() -> None:
    coins, view = make_coins([3 * COIN])
    built = build_payment(KEYS, coins, RECIPIENT, COIN, 1, 0, b"seedchain-main")
    spent = [view.get_coin(op) for op in built.tx.inputs]
    jobs = signature_jobs(built.tx, [c.output for c in spent if c], REGTEST.chain_id)
    assert verify_batch(jobs) == 0


def test_fee_bump_never_spends_the_original_s_own_outputs() -> None:
    coins, view = make_coins([COIN, 4 * COIN])
    old = build_payment(KEYS, coins[:1], RECIPIENT, COIN - 600, 2, 0, REGTEST.chain_id)
    assert old.change_vout is None
    own = SpendableCoin(OutPoint(old.tx.txid, 0), 9 * COIN, KEYS.receive_key(0).lock, KeyId(0, 0))
    new = bump_fee(
        old.tx,
        old.coins,
        40,
        KEYS,
        REGTEST.chain_id,
        change_vout=None,
        change_key=KeyId(CHANGE, 3),
        coins=[own, coins[1]],
    )
    assert own.outpoint not in new.inputs and coins[1].outpoint in new.inputs
    verify(new.tx, view)


def test_fee_bump_outbids_descendants_too() -> None:
    coins, view = make_coins([3 * COIN])
    old = build_payment(KEYS, coins, RECIPIENT, COIN, 2, 0, REGTEST.chain_id)
    assert old.change_vout is not None and old.change_key is not None
    new = bump_fee(
        old.tx,
        old.coins,
        3,
        KEYS,
        REGTEST.chain_id,
        change_vout=old.change_vout,
        change_key=old.change_key,
        descendant_fees=5_000,
    )
    assert new.fee >= original_fee(old) + 5_000 + new.tx.size
    check_replacement(
        original_fee(old), old.tx.size, new.fee, new.tx.size, 1, original_fee(old) + 5_000
    )
    verify(new.tx, view)
