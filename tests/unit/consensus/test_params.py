"""Every network's genesis block is the recorded constant, with valid proof of work."""

from __future__ import annotations

import pytest

from consensus.coinbase import coinbase_height, split_coinbase
from consensus.params import NETWORKS, ChainParams, network
from consensus.pow import compact_to_target


@pytest.mark.parametrize("params", NETWORKS.values(), ids=list(NETWORKS))
def test_genesis_is_the_recorded_block(params: ChainParams) -> None:
    params.check_genesis()
    genesis = params.genesis
    assert genesis.header.prev_hash == bytes(32)
    assert genesis.header.bits == params.pow_limit_bits
    assert int.from_bytes(genesis.hash, "little") <= compact_to_target(params.pow_limit_bits)
    assert coinbase_height(genesis.transactions[0]) == 0
    coinb1, coinb2 = split_coinbase(genesis.transactions[0])
    assert coinb1 + bytes(8) + coinb2 == genesis.transactions[0].encoded


def test_networks_differ_where_they_must() -> None:
    ids = {p.chain_id for p in NETWORKS.values()}
    hrps = {p.hrp for p in NETWORKS.values()}
    genesis = {p.genesis_hash for p in NETWORKS.values()}
    assert len(ids) == len(hrps) == len(genesis) == 3
    assert network("main").pow_limit == 2**225
    with pytest.raises(ValueError, match="unknown network"):
        network("mainnet")
