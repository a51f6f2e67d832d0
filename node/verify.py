"""``verify``: rebuild the UTXO set from the stored blocks of the active chain and compare its
hash with the hash of the stored UTXO set. May import consensus, node.storage, node.coins.

A mismatch, a missing block or missing undo data is a ``VerifyError``. Used after crashes (the
crash-safety tests run it after every SIGKILL) and by operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from consensus.block import Block, BlockHeader
from consensus.params import ChainParams
from consensus.signing import verify_batch
from consensus.utxo import DictCoinView, connect_block
from node.coins import utxo_set_hash
from node.storage import ChainStore


class VerifyError(Exception):
    """The stored chain does not rebuild to the stored UTXO set."""


@dataclass(frozen=True)
class VerifyReport:
    height: int
    tip_hash: bytes
    coins: int
    utxo_hash: bytes


def rebuild_utxo_hash(
    store: ChainStore, params: ChainParams, check_signatures: bool = False
) -> VerifyReport:
    tip_hash = store.get_meta("tip")
    if tip_hash is None:
        raise VerifyError("no tip recorded")
    headers = {h: BlockHeader.decode(raw) for h, _height, raw, _s, _q in store.iter_headers()}
    path: list[bytes] = []
    cursor = tip_hash
    while cursor != params.genesis_hash:
        header = headers.get(cursor)
        if header is None:
            raise VerifyError(f"active chain breaks at {cursor[::-1].hex()}")
        path.append(cursor)
        cursor = header.prev_hash
    path.reverse()
    view = DictCoinView()
    for height, block_hash in enumerate(path, start=1):
        data = store.get_block(block_hash)
        if data is None:
            raise VerifyError(f"block {block_hash[::-1].hex()} at height {height} has no data")
        store.get_undo(block_hash)  # raises StorageError when missing
        block = Block.decode(data, params.max_block_size)
        connect_block(block, height, view, params, verify_batch if check_signatures else None)
    rebuilt = utxo_set_hash(sorted((op.key(), coin) for op, coin in view.coins.items()))
    return VerifyReport(len(path), tip_hash, len(view.coins), rebuilt)


class PrunedDatabase(VerifyError):
    """The database was pruned: the blocks a check (or a repair) would replay are gone."""


def verify_datadir(
    datadir: Path, params: ChainParams, check_signatures: bool = False
) -> VerifyReport:
    """Open ``datadir``'s chain database and check it; returns the report or raises
    (:class:`PrunedDatabase` first, before reading anything else, for a pruned one)."""
    store = ChainStore(datadir / "chain.sqlite")
    try:
        pruned = store.pruned_height()
        if pruned:
            raise PrunedDatabase(
                f"the node pruned its blocks up to height {pruned}: checking (or rebuilding) the"
                " UTXO set needs every block since genesis"
            )
        report = rebuild_utxo_hash(store, params, check_signatures)
        stored = utxo_set_hash(store.iter_coins())
        if stored != report.utxo_hash:
            raise VerifyError(
                f"stored UTXO set hash {stored.hex()} != rebuilt {report.utxo_hash.hex()} "
                f"at height {report.height}"
            )
        if store.coin_count() != report.coins:
            raise VerifyError(f"stored {store.coin_count()} coins != rebuilt {report.coins}")
        return report
    finally:
        store.close()
