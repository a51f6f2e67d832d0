"""``mining.authorize``'s user and password (``pool.credentials``)."""

from __future__ import annotations

import pytest

from consensus.params import REGTEST
from pool.credentials import MAX_PASSWORD, parse_user, password_difficulty
from pool.errors import UnauthorizedWorker
from tests.framework.factory import Key


def test_a_difficulty_word_in_the_password() -> None:
    for password, expected in (
        ("d=512", 512.0),
        ("x,d=0.5", 0.5),
        ("x; D=64 other", 64.0),
        ("foo d=1e3", 1000.0),
    ):
        assert password_difficulty(password) == expected, password
    odd: list[object] = ["x", "", "d=", "d=0", "d=-4", "d=nan", "d=inf", "dd=5", "d=5x", None, 5]
    for other in odd:
        assert password_difficulty(other) is None, other
    assert password_difficulty("d=5" + " " * MAX_PASSWORD) is None  # over the size limit


def test_user_names() -> None:
    address = Key.from_index(3).address()
    assert parse_user(address, REGTEST.hrp) == (address, "default")
    assert parse_user(f"{address}.rig-1", REGTEST.hrp) == (address, "rig-1")
    for bad in ("", "nonsense", f"{address}.bad worker", None):
        with pytest.raises(UnauthorizedWorker):
            parse_user(bad, REGTEST.hrp)
