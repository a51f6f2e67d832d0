"""Network addresses as text: ``host:port``, IPv6 in brackets (``[::1]:8733``).

Standard library only. Addresses on the wire and in the address book are strings in one
canonical form (``format_address``): an IPv4 or compressed lower-case IPv6 literal, or (for
configured peers only) a DNS host name, then ``:port``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

from p2p.errors import InvalidAddress

MAX_ADDRESS_LENGTH = 300  # 253-character host name + brackets + ":65535", with room to spare
_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class NetAddress(NamedTuple):
    host: str
    port: int

    def __str__(self) -> str:
        return format_address(self.host, self.port)


def format_address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 literal in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_address(
    text: str, *, default_port: int | None = None, require_ip: bool = False
) -> NetAddress:
    """Split and check ``host:port``; IP literals come back in canonical form.

    ``default_port`` is used when the text has no port. With ``require_ip`` a DNS host name is
    refused (gossiped addresses must be IP literals). Raises ``InvalidAddress``.
    """
    if not text or len(text) > MAX_ADDRESS_LENGTH:
        raise InvalidAddress(f"address of {len(text)} characters")
    host, port_text = _split(text)
    if port_text is None:
        if default_port is None:
            raise InvalidAddress(f"{text!r} has no port")
        port = default_port
    else:
        if not port_text.isdigit() or len(port_text) > 5:
            raise InvalidAddress(f"{text!r}: bad port")
        port = int(port_text)
    if not 1 <= port <= 65535:
        raise InvalidAddress(f"{text!r}: port out of range")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if require_ip or not _is_hostname(host):
            raise InvalidAddress(f"{text!r}: not an IP address or host name") from None
        return NetAddress(host.lower(), port)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return NetAddress(ip.compressed, port)


def canonical_address(text: str, *, require_ip: bool = False) -> str:
    """The canonical spelling of ``host:port`` (raises ``InvalidAddress``)."""
    return str(parse_address(text, require_ip=require_ip))


def host_of(address: str) -> str:
    """The host part of ``host:port`` (for discouragement, which goes by host)."""
    try:
        return parse_address(address).host
    except InvalidAddress:
        return address


def _split(text: str) -> tuple[str, str | None]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InvalidAddress(f"{text!r}: unclosed bracket")
        host, rest = text[1:end], text[end + 1 :]
        if ":" not in host:
            raise InvalidAddress(f"{text!r}: brackets around a non-IPv6 host")
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise InvalidAddress(f"{text!r}: junk after bracket")
        return host, rest[1:]
    if text.count(":") > 1:
        raise InvalidAddress(f"{text!r}: IPv6 addresses need brackets")
    host, sep, port = text.partition(":")
    return host, (port if sep else None)


def _is_hostname(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    labels = host.rstrip(".").split(".")
    return all(_HOSTNAME_LABEL.match(label) for label in labels)
