"""Manual bans (p2p.banlist): subnets, IPv4 and IPv6, expiry, the file kept across restarts,
a corrupt file set aside, the bound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from p2p import banlist as B
from p2p.banlist import BanList, InvalidSubnet, parse_subnet


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_subnets_are_parsed_strictly_and_canonically() -> None:
    assert str(parse_subnet("1.2.3.4")) == "1.2.3.4/32"
    assert str(parse_subnet(" 10.0.0.0/8 ")) == "10.0.0.0/8"
    assert str(parse_subnet("2001:DB8::/32")) == "2001:db8::/32"
    assert str(parse_subnet("::ffff:1.2.3.0/120")) == "1.2.3.0/24"  # IPv4-mapped is IPv4
    for bad in ("", "1.2.3.4/24", "1.2.3.256", "example.com", "1.2.3.4:8333", "1.2.3.0/33"):
        with pytest.raises(InvalidSubnet):
            parse_subnet(bad)


def test_ban_covers_its_subnet_until_it_expires() -> None:
    clock = Clock()
    bans = BanList(None, clock=clock)
    assert not bans.is_banned("10.1.2.3:28733")
    ban = bans.ban("10.1.0.0/16", 3600)
    assert (ban.subnet, ban.until - ban.created) == ("10.1.0.0/16", 3600)
    assert bans.is_banned("10.1.2.3:28733") and bans.is_banned("10.1.255.255")
    assert bans.is_banned("[::ffff:10.1.0.9]:1")  # IPv4-mapped IPv6 peer
    assert not bans.is_banned("10.2.0.1:28733")
    assert not bans.is_banned("node1:28733")  # names are never banned
    bans.ban("2001:db8::/32")
    assert bans.is_banned("[2001:db8::1]:28733") and not bans.is_banned("[2001:db9::1]:1")
    clock.now += 3600
    assert not bans.is_banned("10.1.2.3:28733")
    assert [b.subnet for b in bans.bans()] == ["2001:db8::/32"]
    assert len(bans) == 1


def test_unban_clear_and_limits() -> None:
    bans = BanList(None)
    bans.ban("1.2.3.4")
    assert bans.unban("1.2.3.4/32") and not bans.unban("1.2.3.4")
    with pytest.raises(InvalidSubnet):
        bans.unban("nonsense")
    for seconds in (0, -1, B.MAX_BAN_SECONDS + 1):
        with pytest.raises(ValueError):
            bans.ban("1.2.3.4", seconds)
    bans.ban("1.2.3.4")
    bans.ban("1.2.3.4", 60)  # a new ban of the same subnet replaces the old one
    assert len(bans.bans()) == 1 and bans.bans()[0].until - bans.bans()[0].created == 60
    assert bans.clear() == 1 and bans.bans() == []


def test_the_list_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(B, "MAX_BANS", 3)
    bans = BanList(None)
    for i in range(3):
        bans.ban(f"10.0.0.{i}")
    with pytest.raises(B.BanListFull):
        bans.ban("10.0.0.9")
    bans.ban("10.0.0.1", 5)  # re-banning one in force is not a new entry


def test_bans_survive_a_restart_and_expired_ones_do_not(tmp_path: Path) -> None:
    clock = Clock()
    bans = BanList(tmp_path, clock=clock)
    bans.ban("192.168.0.0/24", 100)
    bans.ban("fd00::1", 10_000)
    bans.save()
    again = BanList(tmp_path, clock=clock)
    assert again.bans() == bans.bans() and again.load_error is None
    clock.now += 101
    later = BanList(tmp_path, clock=clock)
    assert [b.subnet for b in later.bans()] == ["fd00::1/128"]
    assert BanList(tmp_path / "nowhere").bans() == []


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        json.dumps({"version": 2, "bans": []}).encode(),
        json.dumps({"version": 1, "bans": [{"subnet": "1.2.3.4/8", "created": 1, "until": 2}]})
        .encode(),
        json.dumps({"version": 1, "bans": [{"subnet": "1.2.3.4", "created": "1", "until": 2}]})
        .encode(),
        json.dumps({"version": 1}).encode(),
    ],
)
def test_a_corrupt_file_is_set_aside(tmp_path: Path, content: bytes) -> None:
    (tmp_path / B.BANLIST_FILE).write_bytes(content)
    bans = BanList(tmp_path)
    assert bans.bans() == [] and bans.load_error
    assert (tmp_path / (B.BANLIST_FILE + ".corrupt")).read_bytes() == content
    assert not (tmp_path / B.BANLIST_FILE).exists()
