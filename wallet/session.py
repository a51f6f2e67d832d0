"""A wallet in use: :class:`WalletSession` opens, receives, syncs and saves ``wallet.json``.

May import the standard library, ``consensus`` and ``wallet`` modules (never ``node``, ``p2p``,
``pool``, ``mining`` or ``seedchain``); reaches a node only through
:class:`wallet.sync.NodeApi`. Building a send or a fee bump is in :mod:`wallet.sending`; the
session keeps the file steps (save before broadcasting, put back on a refusal).

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

from collections.abc import Sequence
from dataclasses import replace

from wallet.abandon import AbandonResult, abandon_send
from wallet.bumping import bump_send, cancel_send
from wallet.coincontrol import CoinChoice
from wallet.cpfp import CpfpResult, child_pays_for_parent
from wallet.errors import (
    BroadcastRejected,
    NetworkMismatch,
    NodeError,
    NodeUnreachable,
    WalletError,
)
from wallet.fileio import atomic_write
from wallet.freezing import frozen_sets
from wallet.history import CONFIRMED, CONFLICTED, DROPPED, UNCONFIRMED, WalletView, build_view
from wallet.keys import CHANGE, RECEIVE, Keychain, KeySource, WalletKey, format_path
from wallet.keystore import open_keystore
from wallet.labels import with_label
from wallet.location import WalletLocation, keystore_info, read_metadata
from wallet.metadata import PendingSend, WalletMetadata
from wallet.parsing import FEE_TARGET, parse_address, rate_from_estimates
from wallet.results import BumpResult, SendResult
from wallet.sending import send_all, send_payment, send_payments
from wallet.sync import NodeApi, ScanResult, scan
from wallet.txbuild import BuiltTransaction
from wallet.watch import NEEDS_KEYS, WatchKeychain, WatchOnlyWallet, read_watch_file

WATCH_DEPTH = 100
"""Confirmations after which a send of ours is no longer watched for a reorg."""
TRANSIENT_REJECTIONS = frozenset(
    {"mempool_full", "min_fee_not_met", "too_many_ancestors", "too_many_descendants"}
)
"""Refusals of a rebroadcast that may pass later: the send stays pending."""


class WalletSession:
    """An unlocked wallet and a node. Use under the wallet's lock (module docstring)."""

    def __init__(
        self,
        location: WalletLocation,
        keychain: KeySource,
        metadata: WalletMetadata,
        node: NodeApi | None,
        *,
        metadata_bytes: bytes | None = None,
        gap_limit: int | None = None,
    ) -> None:
        self.location = location
        self.params = location.params
        self.paths = location.paths
        self.keychain = keychain
        self.metadata = metadata
        self._metadata_bytes = metadata_bytes
        self._node = node
        self.gap_limit = metadata.gap_limit if gap_limit is None else gap_limit
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

    @classmethod
    def open_watch(cls, location: WalletLocation, node: NodeApi | None) -> WalletSession:
        """A watch-only wallet (``wallet.watch``): no password, no private key."""
        watch = read_watch_file(location.paths.watch)
        metadata, raw = read_metadata(location)
        if watch.keychain.account != metadata.account:
            raise WatchOnlyWallet(
                f"{location.paths.watch} is for account {watch.keychain.account}, wallet.json"
                f" for {metadata.account}"
            )
        return cls(location, watch.keychain, metadata, node, metadata_bytes=raw)

    @property
    def watch_only(self) -> bool:
        return isinstance(self.keychain, WatchKeychain)

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

    def new_address(self, label: str = "") -> tuple[int, str, str]:
        """The next receiving address (index, address, path); the index advances and is saved
        (with ``label`` for the address, if given), so each call hands out a fresh address."""
        index = self.metadata.next_receive
        address, path = self.address_at(index)
        updated = replace(self.metadata, next_receive=index + 1)
        if label:
            updated = with_label(updated, address, label)
        self._save(updated)
        return index, address, path

    def key_for_address(self, address: str) -> WalletKey | None:
        """Our key for ``address``: among the handed-out addresses of both chains and the gap
        beyond them; None if it is not this wallet's. ``InvalidAddress`` for a bad one."""
        lock = parse_address(address, self.params)
        meta = self.metadata
        for change, handed_out in ((RECEIVE, meta.next_receive), (CHANGE, meta.next_change)):
            for index in range(min(handed_out + self.gap_limit, self.keychain.available(change))):
                key = self.keychain.key(change, index)
                if key.lock == lock:
                    return key
        return None

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
        locks, outpoints = frozen_sets(meta.frozen, self.params)
        view = build_view(
            result.txs,
            result.owned,
            result.tip_height,
            result.tip_hash,
            maturity=self.params.coinbase_maturity,
            pending=meta.pending,
            recent=meta.recent,
            frozen_locks=locks,
            frozen_outpoints=outpoints,
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

    def save(self, metadata: WalletMetadata) -> None:
        """Write ``wallet.json`` (atomically; nothing if unchanged)."""
        self._save(metadata)

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
        return await send_payment(self, address, amount, fee_rate)

    async def send_many(
        self,
        payments: Sequence[tuple[str, int]],
        fee_rate: int | None = None,
        *,
        dry_run: bool = False,
        only: CoinChoice | None = None,
        unsigned: bool = False,
        subtract_fee_from: Sequence[int] = (),
    ) -> SendResult:
        """Pay each ``(address, units)`` in one transaction (``dry_run``: build, sign and ask
        the node's verdict, but save and send nothing; ``only``: spend only these coins;
        ``unsigned``: return the transaction file to sign elsewhere, ``wallet.offline``;
        ``subtract_fee_from``: the payments, by index, that pay the fee)."""
        return await send_payments(
            self,
            payments,
            fee_rate,
            dry_run=dry_run,
            only=only,
            unsigned=unsigned,
            subtract_fee_from=subtract_fee_from,
        )

    async def send_all(
        self,
        address: str,
        fee_rate: int | None = None,
        *,
        dry_run: bool = False,
        only: CoinChoice | None = None,
        unsigned: bool = False,
    ) -> SendResult:
        """Send every spendable coin (every one ``only`` names) to ``address``, the fee taken
        from the amount."""
        return await send_all(
            self, address, fee_rate, dry_run=dry_run, only=only, unsigned=unsigned
        )

    async def cpfp(
        self, parent_txid: bytes, fee_rate: int | None = None, *, unsigned: bool = False
    ) -> CpfpResult:
        """Speed up an unconfirmed transaction paying us by spending our outputs of it
        (child pays for parent, :mod:`wallet.cpfp`)."""
        return await child_pays_for_parent(self, parent_txid, fee_rate, unsigned=unsigned)

    async def cancel(
        self, txid: bytes, fee_rate: int | None = None, *, unsigned: bool = False
    ) -> BumpResult:
        """Replace our unconfirmed send ``txid`` by one paying its coins back to us."""
        return await cancel_send(self, txid, fee_rate, unsigned=unsigned)

    async def abandon(self, txid: bytes) -> AbandonResult:
        """Forget our pending send ``txid`` that the node no longer has, releasing its coins
        (Core's ``abandontransaction``; :mod:`wallet.abandon`)."""
        return await abandon_send(self, txid)

    async def bump(
        self,
        txid: bytes,
        fee_rate: int | None = None,
        *,
        unsigned: bool = False,
        decrease_payment: bool = False,
    ) -> BumpResult:
        """Replace our unconfirmed send ``txid`` by one paying ``fee_rate`` (default: the
        estimate, and at least one unit per byte above the original's rate); ``unsigned``:
        only return the replacement's transaction file (``wallet.offline``);
        ``decrease_payment``: the payments pay the extra fee (``wallet.bumping``)."""
        return await bump_send(
            self, txid, fee_rate, unsigned=unsigned, decrease_payment=decrease_payment
        )

    async def commit_and_broadcast(self, updated: WalletMetadata, built: BuiltTransaction) -> None:
        """Save ``updated`` (with the new pending send) first, then broadcast; a refusal puts
        ``wallet.json`` back as it was, an unknown outcome keeps the send pending. A watch-only
        wallet's transaction is unsigned: :class:`WatchOnlyWallet`, before anything is saved."""
        if not built.signed:
            raise WatchOnlyWallet(NEEDS_KEYS)
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
