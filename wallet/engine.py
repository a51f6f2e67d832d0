"""The wallet engine: create, restore, open, sync, receive, send and fee-bump.

May import the standard library, ``consensus`` and ``wallet`` modules; reaches a node only
through :class:`wallet.sync.NodeApi`. The CLI (``seedchain/cmd_wallet.py``) parses arguments,
reads passwords and prints; everything else happens here.

**State.** A wallet's files are its keystore (the secret) and ``wallet.json`` (next indexes,
pending and recent sends; :mod:`wallet.metadata`). Coins, balances and history are never
stored: every command asks the node again (:mod:`wallet.sync`, :mod:`wallet.history`), so a
reorg while the wallet was closed needs no repair.

**Sends.** A :class:`WalletSession` is used under the wallet's inter-process lock (the CLI
holds ``exclusive_lock(paths.lock)`` for the whole command). ``send`` syncs, selects among
spendable coins excluding those reserved by pending sends, saves ``wallet.json`` with the new
pending send and the advanced change index *before* broadcasting, then broadcasts; if the node
refuses the transaction the file is put back exactly as it was. Two ``send`` commands started
together therefore run one after the other, and the second sees the first's transaction (in
the node's mempool, and as a pending send): they never pick the same coins.

**Pending and recent sends.** On each sync our sends are classified
(:mod:`wallet.history`): a pending send that confirmed moves to ``recent`` (kept for
``WATCH_DEPTH`` confirmations so that a reorg undoing it is noticed), a conflicted one too; a
recent one that is unconfirmed or unknown to the node again moves back to ``pending``; a
pending one the node does not know (``dropped``) is broadcast again, and forgotten if the
node refuses it for good.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from consensus.addresses import address_to_lock
from consensus.errors import AddressError
from consensus.hashing import hash_to_hex
from consensus.params import ChainParams
from consensus.transaction import OutPoint, Transaction
from wallet.coinselect import SpendableCoin
from wallet.errors import (
    BroadcastRejected,
    FeeBumpError,
    InvalidAddress,
    InvalidFeeBumpTarget,
    InvalidFeeRate,
    KeystoreError,
    NetworkMismatch,
    NodeError,
    NodeUnreachable,
    WalletError,
    WalletExists,
    WalletNotFound,
)
from wallet.fileio import atomic_write, read_file
from wallet.history import (
    CONFIRMED,
    CONFLICTED,
    DROPPED,
    UNCONFIRMED,
    WalletCoin,
    WalletView,
    build_view,
)
from wallet.keys import CHANGE, RECEIVE, Keychain, KeyId, format_path
from wallet.keystore import (
    DEFAULT_KDF,
    KdfParams,
    KeystoreInfo,
    WalletSecrets,
    create_keystore,
    open_keystore,
    read_keystore_info,
)
from wallet.metadata import (
    MAX_METADATA_SIZE,
    PendingSend,
    WalletMetadata,
    WalletPaths,
    load_metadata,
    save_metadata,
)
from wallet.mnemonic import generate_mnemonic, validate_mnemonic
from wallet.sync import GAP_LIMIT, NodeApi, ScanResult, scan
from wallet.txbuild import BuiltTransaction, build_payment, bump_fee

WATCH_DEPTH = 100
"""Confirmations after which a send of ours is no longer watched for a reorg."""
FEE_TARGET = 6
"""Default confirmation target (blocks) for the fee rate from ``/v1/fee-estimates``."""
MAX_FEE_RATE = 100_000
"""Units per byte above which a fee rate is refused as a typo (100,000 x 200 bytes = 0.2 coin)."""
TRANSIENT_REJECTIONS = frozenset(
    {"mempool_full", "min_fee_not_met", "too_many_ancestors", "too_many_descendants"}
)
"""Refusals of a rebroadcast that may pass later: the send stays pending."""


# --- addresses and amounts ----------------------------------------------------------------------
def parse_address(text: str, params: ChainParams) -> bytes:
    """The lock an address pays on ``params``' network; :class:`InvalidAddress` with a clear
    reason (bad checksum, another network, malformed) otherwise."""
    shown = text if len(text) <= 100 else text[:97] + "..."
    try:
        return address_to_lock(text.strip(), params.hrp)
    except AddressError as exc:
        raise InvalidAddress(f"invalid address {shown!r}: {exc}", exc.code) from None


def parse_fee_rate(text: str) -> int:
    """A fee rate given by the user: a whole number of units per byte, 1..MAX_FEE_RATE."""
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit():
        raise InvalidFeeRate(
            f"invalid fee rate {stripped[:32]!r}: expected a whole number of units per byte"
        )
    rate = int(stripped)
    if not 1 <= rate <= MAX_FEE_RATE:
        raise InvalidFeeRate(f"fee rate must be between 1 and {MAX_FEE_RATE} units per byte")
    return rate


def rate_from_estimates(estimates: dict[int, float], target: int = FEE_TARGET) -> int:
    """The estimate for ``target`` blocks (or the nearest slower target, or the slowest known),
    rounded up to whole units per byte, at least 1."""
    if not estimates:
        return 1
    slower = sorted(t for t in estimates if t >= target)
    chosen = slower[0] if slower else max(estimates)
    return max(1, math.ceil(estimates[chosen]))


# --- files --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WalletLocation:
    """Where a wallet lives and which network it is for."""

    datadir: Path
    name: str
    params: ChainParams

    @property
    def paths(self) -> WalletPaths:
        return WalletPaths.of(self.datadir, self.name)

    def describe(self) -> str:
        return f"wallet {self.name!r} in {self.datadir}"


def check_exists(location: WalletLocation) -> WalletPaths:
    """The wallet's paths, or :class:`WalletNotFound` with a hint."""
    paths = location.paths
    if not paths.keystore.exists():
        raise WalletNotFound(
            f"no {location.describe()} for {location.params.name}"
            " (create one with `seedchain wallet create` or `restore`)"
        )
    return paths


def keystore_info(location: WalletLocation) -> KeystoreInfo:
    """The keystore's header, checked against the expected network."""
    paths = check_exists(location)
    info = read_keystore_info(paths.keystore)
    if info.network != location.params.name:
        raise NetworkMismatch(
            f"{location.describe()} is for {info.network}, not {location.params.name}"
            f" (use --network {info.network})"
        )
    return info


def read_metadata(location: WalletLocation) -> tuple[WalletMetadata, bytes | None]:
    """The metadata and the file's exact bytes (None if missing: a crash right after the
    keystore was written leaves a fresh wallet, and discovery finds its addresses again)."""
    paths = location.paths
    try:
        raw: bytes | None = read_file(paths.metadata, MAX_METADATA_SIZE)
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise KeystoreError(f"cannot read wallet file {paths.metadata}: {exc.strerror}") from None
    if raw is None:
        return WalletMetadata(location.params.name), None
    metadata = load_metadata(paths.metadata)
    if metadata.network != location.params.name:
        raise NetworkMismatch(
            f"wallet file {paths.metadata} is for {metadata.network}, not {location.params.name}"
        )
    return metadata, raw


@dataclass(frozen=True)
class CreatedWallet:
    paths: WalletPaths
    mnemonic: str
    metadata: WalletMetadata


def create_wallet(
    location: WalletLocation,
    password: str,
    *,
    mnemonic: str | None = None,
    passphrase: str = "",
    metadata: WalletMetadata | None = None,
    kdf: KdfParams = DEFAULT_KDF,
) -> CreatedWallet:
    """Write a new wallet (keystore, then ``wallet.json`` and the lock file). Never overwrites
    an existing one. With ``mnemonic`` it is a restore; otherwise a fresh 24-word phrase."""
    if not password:
        raise KeystoreError("the password must not be empty")
    phrase = generate_mnemonic() if mnemonic is None else validate_mnemonic(mnemonic)
    paths = location.paths
    meta = metadata or WalletMetadata(location.params.name)
    create_keystore(
        paths.keystore, WalletSecrets(phrase, passphrase), password, location.params.name, kdf=kdf
    )
    save_metadata(paths.metadata, meta)
    paths.lock.touch(mode=0o600, exist_ok=True)
    return CreatedWallet(paths, phrase, meta)


async def restore_wallet(
    location: WalletLocation,
    password: str,
    mnemonic: str,
    node: NodeApi | None,
    *,
    passphrase: str = "",
    gap_limit: int = GAP_LIMIT,
    kdf: KdfParams = DEFAULT_KDF,
) -> tuple[CreatedWallet, WalletView | None]:
    """Restore a wallet from its phrase: discover its used addresses first (gap limit on both
    chains; no node: no discovery), then write it with the next indexes past them. Nothing is
    written if the phrase is invalid, the wallet exists or the node cannot be reached."""
    phrase = validate_mnemonic(mnemonic)
    if not password:
        raise KeystoreError("the password must not be empty")
    if location.paths.keystore.exists():
        raise WalletExists(f"a wallet already exists at {location.paths.keystore}")
    metadata = WalletMetadata(location.params.name)
    view = None
    if node is not None:
        session = WalletSession(
            location, keychain_for(phrase, passphrase), metadata, node, gap_limit=gap_limit
        )
        view = await session.sync(rebroadcast=False)
        metadata = session.reconciled()
    created = create_wallet(
        location, password, mnemonic=phrase, passphrase=passphrase, metadata=metadata, kdf=kdf
    )
    return created, view


def keychain_for(mnemonic: str, passphrase: str = "", account: int = 0) -> Keychain:
    return Keychain.from_seed(WalletSecrets(mnemonic, passphrase).seed(), account)


# --- a wallet in use ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SendResult:
    txid: bytes
    amount: int
    address: str
    fee: int
    fee_rate: int
    size: int
    change: int | None
    inputs: tuple[OutPoint, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "txid": hash_to_hex(self.txid),
            "amount": self.amount,
            "address": self.address,
            "fee": self.fee,
            "fee_rate": self.fee_rate,
            "size": self.size,
            "change": self.change,
            "inputs": [str(outpoint) for outpoint in self.inputs],
        }


@dataclass(frozen=True)
class BumpResult:
    txid: bytes
    replaces: bytes
    fee: int
    old_fee: int
    fee_rate: int
    size: int

    def to_json(self) -> dict[str, object]:
        return {
            "txid": hash_to_hex(self.txid),
            "replaces": hash_to_hex(self.replaces),
            "fee": self.fee,
            "old_fee": self.old_fee,
            "fee_rate": self.fee_rate,
            "size": self.size,
        }


class WalletSession:
    """An unlocked wallet and a node. Use under the wallet's lock (module docstring)."""

    def __init__(
        self,
        location: WalletLocation,
        keychain: Keychain,
        metadata: WalletMetadata,
        node: NodeApi | None,
        *,
        metadata_bytes: bytes | None = None,
        gap_limit: int = GAP_LIMIT,
    ) -> None:
        self.location = location
        self.params = location.params
        self.paths = location.paths
        self.keychain = keychain
        self.metadata = metadata
        self._metadata_bytes = metadata_bytes
        self._node = node
        self.gap_limit = gap_limit
        self.scan: ScanResult | None = None
        self.view: WalletView | None = None

    @classmethod
    def open(cls, location: WalletLocation, password: str, node: NodeApi | None) -> WalletSession:
        """Unlock the keystore (``WrongPassword``, ``KeystoreCorrupt``, ...) and read
        ``wallet.json``. Changes nothing on disk."""
        keystore_info(location)
        _info, secrets = open_keystore(location.paths.keystore, password)
        metadata, raw = read_metadata(location)
        keychain = Keychain.from_seed(secrets.seed(), metadata.account)
        return cls(location, keychain, metadata, node, metadata_bytes=raw)

    @property
    def node(self) -> NodeApi:
        if self._node is None:
            raise NodeUnreachable("this command needs a node (--node URL)")
        return self._node

    @property
    def hrp(self) -> str:
        return self.params.hrp

    # --- receiving --------------------------------------------------------------------------
    def address_at(self, index: int, change: int = RECEIVE) -> tuple[str, str]:
        """(address, path) of a key; nothing is saved."""
        if not 0 <= index < 2**31:
            raise WalletError(f"address index {index} is outside 0..2^31-1")
        key = self.keychain.key(change, index)
        return key.address(self.hrp), format_path(key.path)

    def new_address(self) -> tuple[int, str, str]:
        """The next receiving address (index, address, path); the index advances and is saved,
        so each call hands out a fresh address."""
        index = self.metadata.next_receive
        address, path = self.address_at(index)
        updated = replace(self.metadata, next_receive=index + 1)
        self._save(updated)
        return index, address, path

    # --- syncing ----------------------------------------------------------------------------
    async def sync(self, *, rebroadcast: bool = True) -> WalletView:
        """Discover our transactions, classify our sends; broadcast dropped ones again."""
        view = await self._sync_once()
        if rebroadcast and await self._rebroadcast(view):
            view = await self._sync_once()
        return view

    async def _sync_once(self) -> WalletView:
        meta = self.metadata
        result = await scan(
            self.node,
            self.keychain,
            self.hrp,
            next_receive=meta.next_receive,
            next_change=meta.next_change,
            gap_limit=self.gap_limit,
        )
        if result.network != self.params.name:
            raise NetworkMismatch(
                f"the node at {self.node.url} is on {result.network},"
                f" the wallet is for {self.params.name}"
            )
        view = build_view(
            result.txs,
            result.owned,
            result.tip_height,
            result.tip_hash,
            maturity=self.params.coinbase_maturity,
            pending=meta.pending,
            recent=meta.recent,
        )
        self.scan, self.view = result, view
        return view

    async def _rebroadcast(self, view: WalletView) -> bool:
        """Broadcast our dropped pending sends again; forget those refused for good.
        True if one was accepted (the view is then stale)."""
        accepted = False
        pending = {send.txid for send in self.metadata.pending}
        for state in list(view.sends.values()):
            if state.status != DROPPED or state.send.txid not in pending:
                continue
            try:
                await self.node.broadcast(state.send.raw)
            except BroadcastRejected as exc:
                if exc.api_code in TRANSIENT_REJECTIONS:
                    continue
                self.metadata = replace(
                    self.metadata,
                    pending=[p for p in self.metadata.pending if p.txid != state.send.txid],
                )
                continue
            accepted = True
        return accepted

    def reconciled(self) -> WalletMetadata:
        """``wallet.json`` as the last sync says it should be: next indexes past every used
        address, pending and recent sends moved by their state (module docstring)."""
        assert self.scan is not None and self.view is not None
        meta = self.metadata
        pending: list[PendingSend] = []
        recent: list[PendingSend] = []
        known = {p.txid for p in meta.pending} | {r.txid for r in meta.recent}
        for state in self.view.sends.values():
            send = state.send
            if state.status == UNCONFIRMED or (state.status == DROPPED and send.txid in known):
                pending.append(send)  # a dropped one is broadcast again by the next sync
            elif state.status in (CONFIRMED, CONFLICTED) and state.confirmations < WATCH_DEPTH:
                recent.append(send)
        keep = {s.txid for s in pending}
        pending_order = [p for p in meta.pending if p.txid in keep]
        pending_order += [p for p in pending if p.txid not in {q.txid for q in pending_order}]
        return replace(
            meta,
            next_receive=max(meta.next_receive, self.scan.next_unused(RECEIVE)),
            next_change=max(meta.next_change, self.scan.next_unused(CHANGE)),
            pending=pending_order,
            recent=recent,
        )

    def save_reconciled(self) -> None:
        """Save what the last sync learnt, if anything changed (a successful command's last
        step; a failed command never writes)."""
        self._save(self.reconciled())

    def _save(self, metadata: WalletMetadata) -> None:
        encoded = metadata.encode()
        if encoded != self._metadata_bytes:
            atomic_write(self.paths.metadata, encoded)
            self._metadata_bytes = encoded
        self.metadata = metadata

    def _restore_file(self, original: bytes | None, metadata: WalletMetadata) -> None:
        """Put ``wallet.json`` back exactly as it was before a refused broadcast."""
        if original is None:
            self.paths.metadata.unlink(missing_ok=True)
        else:
            atomic_write(self.paths.metadata, original)
        self._metadata_bytes = original
        self.metadata = metadata

    # --- fees -------------------------------------------------------------------------------
    async def estimate_fee_rate(self, target: int = FEE_TARGET) -> int:
        return rate_from_estimates(await self.node.fee_estimates(), target)

    # --- sending ----------------------------------------------------------------------------
    async def send(self, address: str, amount: int, fee_rate: int | None = None) -> SendResult:
        """Pay ``amount`` units to ``address``; see the module docstring for the steps."""
        lock = parse_address(address, self.params)
        view = await self.sync()
        rate = fee_rate if fee_rate is not None else await self.estimate_fee_rate()
        meta = self.reconciled()
        coins = [_spendable(coin) for coin in view.spendable_coins()]
        built = build_payment(
            self.keychain,
            coins,
            lock,
            amount,
            rate,
            meta.next_change,
            self.params.chain_id,
            exclude=meta.reserved_outpoints(),
        )
        change_index = None if built.change_key is None else built.change_key.index
        send = _pending(built, change_index)
        updated = replace(
            meta,
            next_change=meta.next_change + (1 if built.change_vout is not None else 0),
            pending=list(meta.pending),
        )
        updated.add_pending(send)
        await self._commit_and_broadcast(updated, built)
        change = None if built.change_vout is None else built.tx.outputs[built.change_vout].value
        return SendResult(
            built.tx.txid,
            amount,
            address.strip(),
            built.fee,
            rate,
            built.tx.size,
            change,
            built.tx.inputs,
        )

    async def bump(self, txid: bytes, fee_rate: int | None = None) -> BumpResult:
        """Replace our unconfirmed send ``txid`` by one paying ``fee_rate`` (default: the
        estimate, and at least one unit per byte above the original's rate)."""
        view = await self.sync(rebroadcast=False)
        meta = self.reconciled()
        state = view.sends.get(txid)
        original_send = next((p for p in meta.pending if p.txid == txid), None)
        shown = hash_to_hex(txid)
        if state is None or original_send is None:
            if state is not None and state.status == CONFIRMED:
                raise InvalidFeeBumpTarget(f"transaction {shown} is already confirmed")
            if state is not None and state.status == CONFLICTED:
                raise InvalidFeeBumpTarget(f"transaction {shown} is conflicted: nothing to bump")
            if txid in view.txs:
                raise InvalidFeeBumpTarget(
                    f"transaction {shown} was not sent by this wallet from here"
                    " (only pending sends of this wallet can be bumped)"
                )
            raise InvalidFeeBumpTarget(f"no pending send {shown} in this wallet")
        original = Transaction.decode(original_send.raw)
        _check_no_descendants(original, meta.pending, view)
        spent = []
        for outpoint in original.inputs:
            out = view.output(outpoint)
            key_id = None if out is None else view.owned.get(out.lock)
            if out is None or key_id is None:
                raise FeeBumpError(
                    f"cannot find the coin {outpoint} that {shown} spends; it cannot be bumped"
                )
            spent.append(SpendableCoin(outpoint, out.value, out.lock, key_id))
        old_fee = original_send.fee
        minimum = old_fee // original.size + 1
        rate = max(await self.estimate_fee_rate(), minimum) if fee_rate is None else fee_rate
        fresh_change = original_send.change_index is None
        change_index = meta.next_change if fresh_change else original_send.change_index
        assert change_index is not None
        add = [
            _spendable(coin)
            for coin in view.spendable_coins()
            if coin.height is not None and coin.outpoint.txid != txid
        ]
        built = bump_fee(
            original,
            spent,
            rate,
            self.keychain,
            self.params.chain_id,
            change_vout=original_send.change_vout,
            change_key=KeyId(CHANGE, change_index),
            coins=add,
            exclude=meta.reserved_outpoints(),
        )
        new_change = None if built.change_key is None else built.change_key.index
        send = replace(_pending(built, new_change), replaces=txid)
        advance = 1 if fresh_change and built.change_vout is not None else 0
        updated = replace(meta, next_change=meta.next_change + advance, pending=list(meta.pending))
        updated.add_pending(send)
        await self._commit_and_broadcast(updated, built)
        return BumpResult(built.tx.txid, txid, built.fee, old_fee, rate, built.tx.size)

    async def _commit_and_broadcast(self, updated: WalletMetadata, built: BuiltTransaction) -> None:
        """Save ``updated`` (with the new pending send) first, then broadcast; a refusal puts
        ``wallet.json`` back as it was, an unknown outcome keeps the send pending."""
        original_bytes, original_meta = self._metadata_bytes, self.metadata
        self._save(updated)
        try:
            await self.node.broadcast(built.tx.encoded)
        except BroadcastRejected:
            self._restore_file(original_bytes, original_meta)
            raise
        except (NodeUnreachable, NodeError) as exc:
            raise type(exc)(
                f"{exc}; transaction {built.tx.txid_hex} is saved as pending and will be"
                " broadcast again by the next wallet command"
            ) from None


def _spendable(coin: WalletCoin) -> SpendableCoin:
    return SpendableCoin(coin.outpoint, coin.value, coin.lock, coin.key_id)


def _pending(built: BuiltTransaction, change_index: int | None) -> PendingSend:
    return PendingSend(
        txid=built.tx.txid,
        raw=built.tx.encoded,
        inputs=built.tx.inputs,
        fee=built.fee,
        created=int(time.time()),
        change_vout=built.change_vout,
        change_index=change_index,
    )


def _check_no_descendants(
    original: Transaction, pending: Sequence[PendingSend], view: WalletView
) -> None:
    """Refuse to bump a transaction whose outputs our other unconfirmed sends spend (the
    replacement would evict them), as Bitcoin Core's ``bumpfee`` does."""
    txid = original.txid
    for send in pending:
        if send.txid != txid and any(outpoint.txid == txid for outpoint in send.inputs):
            raise FeeBumpError(
                f"transaction {original.txid_hex} has an unconfirmed descendant in this wallet"
                f" ({hash_to_hex(send.txid)}); wait for it to confirm"
            )
    for tx in view.txs.values():
        if tx.confirmed or tx.txid == txid:
            continue
        if any(vin.outpoint.txid == txid for vin in tx.inputs):
            raise FeeBumpError(
                f"transaction {original.txid_hex} has an unconfirmed descendant"
                f" ({tx.txid_hex}); a replacement would evict it"
            )
