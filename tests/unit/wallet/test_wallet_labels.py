"""Labels for addresses and transactions: keys, text checks, setting and removing."""

from __future__ import annotations

import pytest

from consensus.params import MAIN, REGTEST
from tests.framework.factory import Key
from wallet.errors import InvalidAddress, InvalidInput
from wallet.labels import MAX_LABEL_CHARS, MAX_LABELS, check_label_text, label_key, with_label
from wallet.metadata import WalletMetadata

ADDRESS = Key.from_index(3).address()
TXID = "AB" * 32


def test_keys_are_canonical() -> None:
    assert label_key(f"  {TXID} ", REGTEST) == TXID.lower()
    assert label_key(ADDRESS, REGTEST) == ADDRESS
    assert label_key(ADDRESS.upper(), REGTEST) == ADDRESS  # bech32m is case-insensitive
    with pytest.raises(InvalidAddress, match="regtest"):
        label_key(Key.from_index(3).address(params=MAIN), REGTEST)
    with pytest.raises(InvalidAddress):
        label_key("not an address", REGTEST)
    with pytest.raises(InvalidAddress):
        label_key("ab" * 31, REGTEST)  # 62 hex digits: neither a txid nor an address


def test_label_text() -> None:
    assert check_label_text("  rent, March  ") == "rent, March"
    assert check_label_text("café ☕") == "café ☕"
    with pytest.raises(InvalidInput, match="control"):
        check_label_text("two\nlines")
    with pytest.raises(InvalidInput, match="control"):
        check_label_text("\x1b[31mred")
    assert check_label_text("x" * MAX_LABEL_CHARS)
    with pytest.raises(InvalidInput, match="at most"):
        check_label_text("x" * (MAX_LABEL_CHARS + 1))


def test_set_replace_remove_and_the_bound() -> None:
    meta = WalletMetadata("regtest")
    labelled = with_label(meta, ADDRESS, "shop")
    assert labelled.labels == {ADDRESS: "shop"} and meta.labels == {}  # a new value
    assert with_label(labelled, ADDRESS, "market").labels == {ADDRESS: "market"}
    assert with_label(labelled, ADDRESS, "  ").labels == {}
    assert with_label(meta, TXID.lower(), "").labels == {}  # removing what is not there
    full = WalletMetadata("regtest", labels={f"{i:064x}": "x" for i in range(MAX_LABELS)})
    with pytest.raises(InvalidInput, match="labels"):
        with_label(full, ADDRESS, "one more")
    assert with_label(full, f"{0:064x}", "renamed").labels[f"{0:064x}"] == "renamed"
