"""Payment URIs, after BIP 21: ``seedchain:ADDRESS?amount=1.5&label=Shop&message=Order%2042``.

May import ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``, ``pool``, ``mining``
or ``seedchain``); no I/O. ``amount`` is decimal coins (at most 8 decimals, as everywhere);
``label`` names the payee and ``message`` describes the payment, both percent-encoded UTF-8.
As BIP 21 requires, a parameter whose name starts with ``req-`` that this wallet does not know
makes the URI unpayable (an error), other unknown parameters are ignored, and a parameter given
twice is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from consensus.params import ChainParams
from wallet.amounts import format_amount, parse_amount
from wallet.errors import InvalidInput
from wallet.parsing import canonical_address

SCHEME = "seedchain"
MAX_URI_LENGTH = 2_000
KNOWN = frozenset({"amount", "label", "message"})


@dataclass(frozen=True)
class PaymentRequest:
    address: str
    amount: int | None = None  # base units
    label: str | None = None
    message: str | None = None

    def uri(self) -> str:
        return encode_uri(self.address, self.amount, self.label, self.message)


def is_uri(text: str) -> bool:
    return text.strip().lower().startswith(SCHEME + ":")


def encode_uri(
    address: str, amount: int | None = None, label: str | None = None, message: str | None = None
) -> str:
    """The URI asking for ``amount`` base units (if any) to ``address``."""
    query = []
    if amount is not None:
        query.append(f"amount={format_amount(amount)}")
    for name, value in (("label", label), ("message", message)):
        if value:
            query.append(f"{name}={quote(value, safe='')}")
    return f"{SCHEME}:{address}" + ("?" + "&".join(query) if query else "")


def parse_uri(text: str, params: ChainParams) -> PaymentRequest:
    """A payment URI of ``params``' network; ``InvalidInput`` (or ``InvalidAddress`` /
    ``InvalidAmount``) for one this wallet cannot pay."""
    text = text.strip()
    if len(text) > MAX_URI_LENGTH:
        raise InvalidInput(f"payment URI longer than {MAX_URI_LENGTH} characters")
    scheme, colon, rest = text.partition(":")
    if not colon or scheme.lower() != SCHEME:
        raise InvalidInput(f"not a {SCHEME}: payment URI: {text[:60]!r}")
    address_text, _, query = rest.partition("?")
    address = canonical_address(address_text, params)
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query),
                          encoding="utf-8", errors="strict")  # fmt: skip
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"malformed payment URI parameters: {query[:60]!r}") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key in values:
            raise InvalidInput(f"payment URI gives {name!r} twice")
        if key not in KNOWN and key.startswith("req-"):
            raise InvalidInput(f"payment URI requires {name!r}, which this wallet does not know")
        values[key] = value
    amount = values.get("amount")
    return PaymentRequest(
        address=address,
        amount=None if amount is None else parse_amount(amount),
        label=values.get("label") or None,
        message=values.get("message") or None,
    )
