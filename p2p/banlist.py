"""Manual bans: IP addresses and subnets an operator refuses, for a time, kept across restarts in
``<datadir>/banlist.json`` (Bitcoin Core's ``setban`` / ``listbanned`` / ``clearbanned``).

Standard library and ``p2p.atomicfile`` only; the clock is injected so tests can move time.
Unlike discouragement (``p2p.discourage``: automatic, by host, in memory), a ban is asked for,
covers a whole subnet (``1.2.3.4`` is ``1.2.3.4/32``; IPv4-mapped IPv6 counts as IPv4), and is
saved (the caller saves after each change: ``save``). The connection manager refuses inbound
connections from a banned address, never dials one from the address book, and drops the
connected peers a new ban covers; peers asked for by name (``--peer``, ``POST /v1/peers``)
are dialled anyway, as Core's ``addnode`` is. Addresses that are not IP literals are never
banned. Expired bans are swept on access. Bounded: ``MAX_BANS``.

File: JSON ``{"version": 1, "bans": [{"subnet", "created", "until"}, ...]}``. A corrupt file is
moved aside to ``banlist.json.corrupt`` and the list starts empty (as the address book does).
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from p2p.address import host_of
from p2p.atomicfile import write_atomically

BANLIST_FILE = "banlist.json"
DEFAULT_BAN_SECONDS = 24 * 60 * 60  # Core's -bantime
MAX_BAN_SECONDS = 10 * 365 * 24 * 60 * 60
MAX_BANS = 10_000
MAX_FILE_BYTES = 4 * 1024 * 1024
VERSION = 1

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class InvalidSubnet(ValueError):
    """Not an IP address or an IP subnet (``1.2.3.4``, ``1.2.3.0/24``, ``2001:db8::/32``)."""


class BanListFull(ValueError):
    """``MAX_BANS`` bans are in force already."""


@dataclass(frozen=True, slots=True)
class Ban:
    subnet: str  # canonical: "1.2.3.0/24", "2001:db8::/32"
    created: int  # Unix seconds
    until: int


def parse_subnet(text: str) -> Network:
    """The canonical network of ``text`` (host bits must be zero); ``InvalidSubnet`` if none."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        raise InvalidSubnet(f"{text!r} is not an IP address or subnet: {exc}") from None
    if isinstance(network, ipaddress.IPv6Network):
        mapped = network.network_address.ipv4_mapped
        if mapped is not None and network.prefixlen >= 96:
            return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


def ip_of(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP of ``address`` (``ip:port`` or a bare IP; IPv4-mapped IPv6 as IPv4), or None
    for a name."""
    try:
        ip = ipaddress.ip_address(host_of(address))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class Whitelist:
    """Core's ``-whitelist=noban@SUBNET``: hosts whose connections are never refused for a ban
    or discouragement, never discouraged for misbehaving (the connection still closes) and
    never evicted. Fixed at start from ``--whitelist``."""

    def __init__(self, subnets: Iterable[str] = ()) -> None:
        self.networks = tuple(parse_subnet(text) for text in subnets)

    def __contains__(self, address: object) -> bool:
        if not self.networks or not isinstance(address, str):
            return False
        ip = ip_of(address)
        return ip is not None and any(ip in network for network in self.networks)

    def __len__(self) -> int:
        return len(self.networks)


class BanList:
    def __init__(self, directory: Path | None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = None if directory is None else directory / BANLIST_FILE
        self._clock = clock
        self._bans: dict[Network, Ban] = {}
        self.load_error: str | None = None  # why the file was set aside, if it was
        if self.path is not None:
            self._load()

    def ban(self, subnet: str, seconds: int = DEFAULT_BAN_SECONDS) -> Ban:
        """Ban ``subnet`` for ``seconds`` from now (replacing an earlier ban of it)."""
        if not 0 < seconds <= MAX_BAN_SECONDS:
            raise ValueError(f"seconds must be within 1..{MAX_BAN_SECONDS}")
        network = parse_subnet(subnet)
        self._sweep()
        if network not in self._bans and len(self._bans) >= MAX_BANS:
            raise BanListFull(f"{MAX_BANS} bans are in force already")
        now = int(self._clock())
        entry = Ban(str(network), now, now + seconds)
        self._bans[network] = entry
        return entry

    def unban(self, subnet: str) -> bool:
        """Lift the ban of exactly ``subnet``; False if there was none."""
        return self._bans.pop(parse_subnet(subnet), None) is not None

    def clear(self) -> int:
        count = len(self._bans)
        self._bans.clear()
        return count

    def bans(self) -> list[Ban]:
        """The bans in force, oldest first."""
        self._sweep()
        return sorted(self._bans.values(), key=lambda b: (b.created, b.subnet))

    def is_banned(self, address: str) -> bool:
        """Whether the IP of ``address`` (``ip:port`` or a bare IP) lies in a ban in force."""
        if not self._bans:
            return False
        ip = ip_of(address)
        if ip is None:
            return False  # a name, not an IP literal
        now = self._clock()
        return any(ip in net and ban.until > now for net, ban in self._bans.items())

    def snapshot(self) -> bytes:
        """The file's content for the bans in force (take it on the owner's thread)."""
        bans = [{"subnet": b.subnet, "created": b.created, "until": b.until} for b in self.bans()]
        return json.dumps({"version": VERSION, "bans": bans}, indent=1).encode()

    def write(self, data: bytes) -> None:
        """Write a ``snapshot`` (any thread; nothing without a directory)."""
        if self.path is not None:
            write_atomically(self.path, data)

    def save(self) -> None:
        """Write the bans in force (blocking; see ``snapshot`` and ``write``)."""
        self.write(self.snapshot())

    def __len__(self) -> int:
        self._sweep()
        return len(self._bans)

    def _sweep(self) -> None:
        now = self._clock()
        for network in [n for n, b in self._bans.items() if b.until <= now]:
            del self._bans[network]

    def _load(self) -> None:
        assert self.path is not None
        try:
            with open(self.path, "rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return
        try:
            if len(raw) > MAX_FILE_BYTES:
                raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
            self._bans = _parse(raw)
        except (ValueError, TypeError, KeyError) as exc:
            self._bans = {}
            self.load_error = str(exc)
            os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
        self._sweep()


def _parse(raw: bytes) -> dict[Network, Ban]:
    top = json.loads(raw)
    if not isinstance(top, dict) or top.get("version") != VERSION:
        raise ValueError("not a version 1 ban list")
    items = top["bans"]
    if not isinstance(items, list) or len(items) > MAX_BANS:
        raise ValueError("'bans' is not a list of at most MAX_BANS entries")
    bans: dict[Network, Ban] = {}
    for item in items:
        subnet, created, until = item["subnet"], item["created"], item["until"]
        if not isinstance(subnet, str) or type(created) is not int or type(until) is not int:
            raise ValueError(f"bad entry {item!r}")
        network = parse_subnet(subnet)
        bans[network] = Ban(str(network), created, until)
    return bans
