"""Which inbound peer gives up its slot when a new one arrives and every slot is taken:
Bitcoin Core's ``SelectNodeToEvict``, against an attacker who would fill the inbound slots
and keep honest peers out.

May import the standard library only. Pure: ``select_for_eviction`` takes a snapshot of the
inbound peers (``EvictionCandidate``) and a keyed hash of network groups, and returns the one
to evict, or None when every candidate is protected (then the newcomer is refused). In order:

1. protect the 4 peers whose network groups hash lowest under a key secret to this node (an
   attacker cannot choose groups that win);
2. protect the 8 with the lowest minimum ping;
3. protect the 4 that most recently sent a transaction new to the mempool;
4. protect the 4 that most recently sent a block new to the chain;
5. protect the older half of the rest (by connection time);
6. of what is left, take the network group with the most peers (on a tie, the one whose
   newest peer is newest) and evict its newest peer.

A network group is an IPv4 /16, an IPv6 /32, or a host name as it is: an attacker's many
addresses from one provider share a group and are evicted first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

PROTECT_BY_NETGROUP = 4
PROTECT_BY_PING = 8
PROTECT_BY_TX = 4
PROTECT_BY_BLOCK = 4
INF = float("inf")


@dataclass(frozen=True)
class EvictionCandidate:
    key: Hashable  # the peer, or whatever the caller needs back
    netgroup: bytes
    connected_at: float  # time.monotonic() at connection
    min_ping: float | None  # seconds, None before the first pong
    last_tx_at: float | None  # when it last sent a transaction new to us
    last_block_at: float | None  # when it last sent a block new to us


def netgroup(host: str) -> bytes:
    """The network group of an address's host: IPv4 /16, IPv6 /32, else the name itself."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return b"name:" + host.lower().encode()
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return b"4" + ip.packed[:2]
    return b"6" + ip.packed[:4]


def select_for_eviction(
    candidates: Sequence[EvictionCandidate], keyed_hash: Callable[[bytes], int]
) -> EvictionCandidate | None:
    """The candidate to evict (see the module docstring), or None if all are protected."""
    remaining = list(candidates)
    remaining = _protect(remaining, PROTECT_BY_NETGROUP, lambda c: keyed_hash(c.netgroup))
    remaining = _protect(remaining, PROTECT_BY_PING, lambda c: _or_inf(c.min_ping))
    remaining = _protect(remaining, PROTECT_BY_TX, lambda c: -_or_minus_inf(c.last_tx_at))
    remaining = _protect(remaining, PROTECT_BY_BLOCK, lambda c: -_or_minus_inf(c.last_block_at))
    remaining = _protect(remaining, len(remaining) // 2, lambda c: c.connected_at)
    if not remaining:
        return None
    groups: dict[bytes, list[EvictionCandidate]] = {}
    for candidate in remaining:
        groups.setdefault(candidate.netgroup, []).append(candidate)
    largest = max(
        groups.values(), key=lambda group: (len(group), max(c.connected_at for c in group))
    )
    return max(largest, key=lambda c: c.connected_at)


def _protect(
    candidates: list[EvictionCandidate], count: int, rank: Callable[[EvictionCandidate], float]
) -> list[EvictionCandidate]:
    """``candidates`` without the ``count`` that rank lowest (ties: the older connection)."""
    if count <= 0:
        return candidates
    ordered = sorted(candidates, key=lambda c: (rank(c), c.connected_at))
    return ordered[count:]


def _or_inf(value: float | None) -> float:
    return INF if value is None else value


def _or_minus_inf(value: float | None) -> float:
    return -INF if value is None else value
