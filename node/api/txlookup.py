"""Finding a transaction, confirmed or in the mempool, with what it spent (chain thread).

May import consensus, node modules and the standard library. A confirmed transaction is found
through the transaction index (``node.txindex``): sliced out of its stored block, its spent
outputs read from the block's undo data. A mempool transaction's spent outputs come from the
UTXO set or from its mempool parents.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.transaction import Transaction, TxOut
from consensus.utxo import BlockUndo
from node.api.context import ApiContext
from node.api.errors import ApiError
from node.api.views import Json, status_json, tx_json
from node.blockindex import ChainEntry
from node.txindex import TxLocation, slice_transaction


@dataclass(frozen=True, slots=True)
class FoundTx:
    tx: Transaction
    prevouts: list[TxOut | None]
    fee: int | None
    entry: ChainEntry | None  # the block on the active chain, None in the mempool
    location: TxLocation | None


class BlockReader:
    """Stored blocks and undo data read once per request (several transactions of one block)."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self._raw: dict[bytes, bytes] = {}
        self._undo: dict[bytes, BlockUndo] = {}

    def raw_block(self, block_hash: bytes) -> bytes:
        raw = self._raw.get(block_hash)
        if raw is None:
            raw = self.ctx.chain.store.get_block(block_hash)
            if raw is None:
                raise ApiError(503, "block_data_missing", "the block's data is not stored")
            self._raw[block_hash] = raw
        return raw

    def undo(self, block_hash: bytes) -> BlockUndo:
        undo = self._undo.get(block_hash)
        if undo is None:
            undo = self._undo[block_hash] = self.ctx.chain.store.get_undo(block_hash)
        return undo


def find_confirmed(ctx: ApiContext, reader: BlockReader, txid: bytes) -> FoundTx | None:
    index = ctx.index_ready()
    location = index.tx_location(txid)
    if location is None:
        return None
    chain = ctx.chain
    entry = chain.entry_at(location.height)
    if entry is None or entry.hash != location.block_hash:
        return None  # the index is between two steps of a reorg: not on the active chain
    tx = Transaction.decode(slice_transaction(reader.raw_block(location.block_hash), location))
    undo = reader.undo(location.block_hash) if location.position else []
    return in_block(tx, location.position, undo, entry, location)


def in_block(
    tx: Transaction,
    position: int,
    undo: BlockUndo,
    entry: ChainEntry | None,
    location: TxLocation | None = None,
) -> FoundTx:
    """The transaction at ``position`` of a block whose undo data is ``undo``: its spent
    outputs and fee from there (a coinbase has none and pays no fee). ``entry`` is the block
    on the active chain, None off it."""
    if position == 0:
        return FoundTx(tx, [], 0, entry, location)
    coins = undo[position - 1]
    prevouts: list[TxOut | None] = [coin.output for coin in coins]
    fee = sum(coin.value for coin in coins) - tx.total_out()
    return FoundTx(tx, prevouts, fee, entry, location)


def find_unconfirmed(ctx: ApiContext, txid: bytes) -> FoundTx | None:
    mempool = ctx.mempool
    mentry = mempool.get(txid)
    if mentry is None:
        return None
    coins = ctx.chain.coins
    prevouts: list[TxOut | None] = []
    for outpoint in mentry.tx.inputs:
        parent = mempool.get(outpoint.txid)
        if parent is not None and outpoint.vout < len(parent.tx.outputs):
            prevouts.append(parent.tx.outputs[outpoint.vout])
        else:
            coin = coins.get_coin(outpoint)
            prevouts.append(None if coin is None else coin.output)
    return FoundTx(mentry.tx, prevouts, mentry.fee, None, None)


def find_tx(ctx: ApiContext, reader: BlockReader, txid: bytes) -> FoundTx:
    """The transaction, mempool first; 404 ``tx_not_found`` when neither has it."""
    found = find_unconfirmed(ctx, txid) or find_confirmed(ctx, reader, txid)
    if found is None:
        raise ApiError(404, "tx_not_found", "no such transaction in the chain or the mempool")
    return found


def found_json(ctx: ApiContext, found: FoundTx) -> Json:
    return tx_json(found.tx, ctx.params.hrp, found.prevouts, found.fee, status_json(found.entry))
