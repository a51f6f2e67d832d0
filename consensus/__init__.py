"""Seedchain's consensus rules: pure functions over frozen values (see docs/protocol.md).

May import only the standard library, msgpack and cryptography: no I/O, no asyncio, no logging,
no clock and no randomness. Time, parents and UTXO views come in as arguments.
"""

from consensus.addresses import decode_address, encode_address, key_hash
from consensus.block import Block, BlockHeader
from consensus.errors import ConsensusError, DecodeError, InvalidBlock, InvalidTransaction
from consensus.nonce_search import search_nonce
from consensus.params import MAIN, NETWORKS, REGTEST, TEST, ChainParams, network
from consensus.pow import calculate_asert, compact_to_target, target_to_compact
from consensus.transaction import COIN, MAX_MONEY, OutPoint, Transaction, TxOut, Witness

__all__ = [
    "COIN",
    "MAIN",
    "MAX_MONEY",
    "NETWORKS",
    "REGTEST",
    "TEST",
    "Block",
    "BlockHeader",
    "ChainParams",
    "ConsensusError",
    "DecodeError",
    "InvalidBlock",
    "InvalidTransaction",
    "OutPoint",
    "Transaction",
    "TxOut",
    "Witness",
    "calculate_asert",
    "compact_to_target",
    "decode_address",
    "encode_address",
    "key_hash",
    "network",
    "search_nonce",
    "target_to_compact",
]
