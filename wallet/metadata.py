"""The wallet's plain (non-secret) state, and where a wallet's files live.

May import the standard library, ``consensus.transaction``/``consensus.hashing`` and
``wallet`` (errors, fileio). Nothing here is secret: addresses are derived again from the
keystore's seed, so this file holds only what cannot be derived — the next receive and change
indexes, labels, and the sends not yet confirmed (whose inputs are reserved, so two sends in
quick succession never pick the same coins). It is JSON, written atomically with mode 0600
like the keystore (:mod:`wallet.fileio`); a damaged file is :class:`KeystoreCorrupt`.

Layout: ``<datadir>/wallets/<name>/keystore.json``, ``wallet.json`` and a ``.lock`` file that
serialises processes (:func:`wallet.fileio.exclusive_lock`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consensus.hashing import hash_to_hex, hex_to_hash
from consensus.transaction import OutPoint
from wallet.errors import KeystoreCorrupt, KeystoreError, WalletNotFound
from wallet.fileio import atomic_write, read_file

METADATA_FORMAT = "seedchain-wallet-metadata"
METADATA_VERSION = 1
MAX_METADATA_SIZE = 16 * 1024 * 1024
_NAME_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")


DEFAULT_GAP_LIMIT = 20  # Electrum's and BIP 44's
MAX_GAP_LIMIT = 10_000  # a scan asks the node about this many addresses per chain at most


def checked_gap_limit(value: int) -> int:
    """``value`` if it is a gap limit this wallet accepts, else ``ValueError``."""
    if not 1 <= value <= MAX_GAP_LIMIT:
        raise ValueError(f"the gap limit must be from 1 to {MAX_GAP_LIMIT}")
    return value


@dataclass(frozen=True)
class WalletPaths:
    """The files of the wallet ``name`` under ``datadir``."""

    directory: Path

    @classmethod
    def of(cls, datadir: Path, name: str) -> WalletPaths:
        if not _NAME_RE.fullmatch(name):
            raise KeystoreError(
                f"invalid wallet name {name!r}: use 1-64 letters, digits, '_', '-' or '.'"
            )
        return cls(datadir / "wallets" / name)

    @property
    def keystore(self) -> Path:
        return self.directory / "keystore.json"

    @property
    def metadata(self) -> Path:
        return self.directory / "wallet.json"

    @property
    def watch(self) -> Path:
        """A watch-only wallet's public keys (``wallet.watch``), in place of a keystore."""
        return self.directory / "watch.json"

    @property
    def lock(self) -> Path:
        return self.directory / ".lock"


@dataclass(frozen=True)
class PendingSend:
    """A transaction we built and broadcast that is not confirmed yet."""

    txid: bytes
    raw: bytes  # the canonical encoding
    inputs: tuple[OutPoint, ...]
    fee: int
    created: int  # Unix seconds
    change_vout: int | None = None
    change_index: int | None = None
    replaces: bytes | None = None  # the txid this one replaced by a fee bump
    sweep: bool = False  # one output (send max, CPFP child): a fee bump takes its fee from it

    def to_json(self) -> dict[str, Any]:
        return {
            "txid": hash_to_hex(self.txid),
            "raw": self.raw.hex(),
            "inputs": [str(outpoint) for outpoint in self.inputs],
            "fee": self.fee,
            "created": self.created,
            "change_vout": self.change_vout,
            "change_index": self.change_index,
            "replaces": None if self.replaces is None else hash_to_hex(self.replaces),
            "sweep": self.sweep,
        }

    @classmethod
    def from_json(cls, obj: Any) -> PendingSend:
        if not isinstance(obj, dict):
            raise ValueError("pending send is not an object")
        replaces = obj["replaces"]
        return cls(
            txid=hex_to_hash(_str(obj["txid"])),
            raw=bytes.fromhex(_str(obj["raw"])),
            inputs=tuple(parse_outpoint(_str(item)) for item in obj["inputs"]),
            fee=_int(obj["fee"]),
            created=_int(obj["created"]),
            change_vout=None if obj["change_vout"] is None else _int(obj["change_vout"]),
            change_index=None if obj["change_index"] is None else _int(obj["change_index"]),
            replaces=None if replaces is None else hex_to_hash(_str(replaces)),
            sweep=_bool(obj.get("sweep", False)),  # absent in files written before it
        )


@dataclass
class WalletMetadata:
    """Everything about a wallet that is neither secret nor derivable from its seed."""

    network: str
    account: int = 0
    next_receive: int = 0
    next_change: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    pending: list[PendingSend] = field(default_factory=list)
    recent: list[PendingSend] = field(default_factory=list)
    """Sends of ours seen confirmed (or conflicted) lately, watched for a reorg that undoes
    them; optional in the file (absent means empty), so older files read unchanged."""
    frozen: list[str] = field(default_factory=list)
    """Addresses and outpoints (``txid:vout``) whose coins sends never spend
    (``wallet.freezing``); optional in the file like ``recent``."""
    gap_limit: int = DEFAULT_GAP_LIMIT
    """How many unused addresses past the last used one a scan looks at, on each chain
    (Electrum's gap limit); in the file only when it is not the default."""

    def reserved_outpoints(self) -> frozenset[OutPoint]:
        """The coins pending sends spend: never select them for another send."""
        return frozenset(outpoint for send in self.pending for outpoint in send.inputs)

    def add_pending(self, send: PendingSend) -> None:
        """Remember ``send``; if it replaces another, forget the replaced one."""
        self.pending = [p for p in self.pending if p.txid not in (send.txid, send.replaces)]
        self.pending.append(send)

    def drop_pending(self, txid: bytes) -> None:
        self.pending = [p for p in self.pending if p.txid != txid]

    def encode(self) -> bytes:
        document: dict[str, Any] = {
            "format": METADATA_FORMAT,
            "version": METADATA_VERSION,
            "network": self.network,
            "account": self.account,
            "next_receive": self.next_receive,
            "next_change": self.next_change,
            "labels": dict(sorted(self.labels.items())),
            "pending": [send.to_json() for send in self.pending],
        }
        if self.recent:
            document["recent"] = [send.to_json() for send in self.recent]
        if self.frozen:
            document["frozen"] = sorted(self.frozen)
        if self.gap_limit != DEFAULT_GAP_LIMIT:
            document["gap_limit"] = self.gap_limit
        return json.dumps(document, indent=2).encode() + b"\n"

    @classmethod
    def decode(cls, data: bytes, path: Path) -> WalletMetadata:
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise KeystoreCorrupt(f"wallet file {path} is truncated or damaged") from None
        if not isinstance(document, dict) or document.get("format") != METADATA_FORMAT:
            raise KeystoreCorrupt(f"{path} is not a Seedchain wallet metadata file")
        if document.get("version") != METADATA_VERSION:
            raise KeystoreCorrupt(
                f"wallet file {path} has unknown version {document.get('version')!r}"
                f" (this program reads version {METADATA_VERSION})"
            )
        try:
            labels = document["labels"]
            if not isinstance(labels, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
            ):
                raise ValueError("labels")
            return cls(
                network=_str(document["network"]),
                account=_int(document["account"]),
                next_receive=_int(document["next_receive"]),
                next_change=_int(document["next_change"]),
                labels=dict(labels),
                pending=[PendingSend.from_json(item) for item in document["pending"]],
                recent=[PendingSend.from_json(item) for item in document.get("recent", [])],
                frozen=[_str(item) for item in document.get("frozen", [])],
                gap_limit=checked_gap_limit(_int(document.get("gap_limit", DEFAULT_GAP_LIMIT))),
            )
        except (KeyError, TypeError, ValueError):
            raise KeystoreCorrupt(f"wallet file {path} is damaged (a field is invalid)") from None


def load_metadata(path: Path) -> WalletMetadata:
    """Read the metadata file (:class:`WalletNotFound` if missing). Changes nothing on disk."""
    try:
        data = read_file(path, MAX_METADATA_SIZE)
    except FileNotFoundError:
        raise WalletNotFound(f"no wallet metadata at {path}") from None
    except OSError as exc:
        raise KeystoreError(f"cannot read wallet file {path}: {exc.strerror}") from None
    if len(data) > MAX_METADATA_SIZE:
        raise KeystoreCorrupt(f"wallet file {path} is too large")
    return WalletMetadata.decode(data, path)


def save_metadata(path: Path, metadata: WalletMetadata) -> None:
    """Write the metadata file atomically (mode 0600)."""
    atomic_write(path, metadata.encode())


def parse_outpoint(text: str) -> OutPoint:
    """``"<txid hex>:<vout>"`` (as ``str(OutPoint)`` prints it) -> ``OutPoint``."""
    txid_hex, separator, vout = text.rpartition(":")
    if not separator or not vout.isascii() or not vout.isdigit():
        raise ValueError(f"invalid outpoint {text!r}")
    return OutPoint(hex_to_hash(txid_hex), int(vout))


def _int(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError("expected a non-negative integer")
    return value


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise ValueError("expected true or false")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value
