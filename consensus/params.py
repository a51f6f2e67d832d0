"""Chain parameters for each network and their genesis blocks. Standard library only.

Nothing here is global state: a ``ChainParams`` value is passed to whatever needs it, so one
process can run nodes of several networks side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.block import Block, BlockHeader
from consensus.cached import cached_property
from consensus.coinbase import INITIAL_SUBSIDY, make_coinbase
from consensus.errors import ConsensusError
from consensus.hashing import ZERO_HASH, hash_to_hex
from consensus.pow import check_proof_of_work, compact_to_target
from consensus.transaction import TxOut

MAIN_POW_LIMIT_BITS = 0x1D020000  # target 2**225: about 2**31 hashes, a minute on 2 SHA-NI cores
REGTEST_POW_LIMIT_BITS = 0x207FFFFF
GENESIS_TIME = 1795305600  # 2026-11-22T00:00:00Z
BURN_LOCK = b"\x00" + bytes(20)  # a key hash no key has: the genesis output is unspendable


@dataclass(frozen=True)
class ChainParams:
    name: str
    chain_id: bytes
    hrp: str
    spacing: int  # target seconds between blocks
    half_life: int  # ASERT half-life in seconds
    retarget: bool  # False: every block keeps the genesis bits (regtest)
    pow_limit_bits: int
    p2p_port: int
    api_port: int
    pool_port: int
    genesis_time: int
    genesis_nonce: int
    genesis_hash_hex: str
    genesis_tag: bytes
    max_block_size: int = 1_048_576
    max_future_block_time: int = 2 * 60 * 60
    coinbase_maturity: int = 100
    halving_interval: int = 210_000
    median_time_span: int = 11

    @cached_property
    def pow_limit(self) -> int:
        return compact_to_target(self.pow_limit_bits)

    @cached_property
    def genesis(self) -> Block:
        coinbase = make_coinbase(0, [TxOut(INITIAL_SUBSIDY, BURN_LOCK)], tag=self.genesis_tag)
        merkle = coinbase.wtxid  # a one-transaction tree's root is its only leaf
        header = BlockHeader(
            1, ZERO_HASH, merkle, self.genesis_time, self.pow_limit_bits, self.genesis_nonce
        )
        return Block(header, (coinbase,))

    @property
    def genesis_hash(self) -> bytes:
        return self.genesis.hash

    def check_genesis(self) -> None:
        """Start-up check: the genesis block built from these constants has the recorded hash
        and valid proof of work. Raises ``ConsensusError`` otherwise."""
        actual = hash_to_hex(self.genesis.hash)
        if actual != self.genesis_hash_hex:
            raise ConsensusError(
                f"{self.name} genesis hash {actual} != expected {self.genesis_hash_hex}"
            )
        check_proof_of_work(self.genesis.hash, self.genesis.header.bits, self.pow_limit)


MAIN = ChainParams(
    name="main",
    chain_id=b"seedchain-main",
    hrp="sc",
    spacing=60,
    half_life=60 * 60,
    retarget=True,
    pow_limit_bits=MAIN_POW_LIMIT_BITS,
    p2p_port=8733,
    api_port=8732,
    pool_port=3333,
    genesis_time=GENESIS_TIME,
    genesis_nonce=1490568625,
    genesis_hash_hex="00000001ecb7d1815f3c7800b0bef0e360977c8f9f01663872befff051769e6a",
    genesis_tag=b"seedchain main genesis 2026-11-22",
    max_future_block_time=10 * 60,
)

TEST = ChainParams(
    name="test",
    chain_id=b"seedchain-test",
    hrp="tsc",
    spacing=30,
    half_life=30 * 60,
    retarget=True,
    pow_limit_bits=MAIN_POW_LIMIT_BITS,
    p2p_port=18733,
    api_port=18732,
    pool_port=13333,
    genesis_time=GENESIS_TIME,
    genesis_nonce=1232543803,
    genesis_hash_hex="00000000dcf419b3c14a965dae04c669fdcb9164f9fecd855df7a568ff6e8bca",
    genesis_tag=b"seedchain test genesis 2026-11-22",
    max_future_block_time=10 * 60,
)

REGTEST = ChainParams(
    name="regtest",
    chain_id=b"seedchain-regtest",
    hrp="rsc",
    spacing=1,
    half_life=1,
    retarget=False,
    pow_limit_bits=REGTEST_POW_LIMIT_BITS,
    p2p_port=28733,
    api_port=28732,
    pool_port=23333,
    genesis_time=GENESIS_TIME,
    genesis_nonce=4,
    genesis_hash_hex="2551f5a78907f4297d9ae4a300b94a71ec3347d5c9e6931d0580ab5e74c6cc5c",
    genesis_tag=b"seedchain regtest genesis 2026-11-22",
)

NETWORKS: dict[str, ChainParams] = {p.name: p for p in (MAIN, TEST, REGTEST)}


def network(name: str) -> ChainParams:
    """The parameters of a network by name (``main``, ``test`` or ``regtest``)."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise ValueError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}") from None
