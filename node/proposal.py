"""Block proposals (BIP 23, Bitcoin Core's ``getblocktemplate`` in ``proposal`` mode): would
this block, on our tip, be valid if it had its proof of work?

May import consensus and the standard library (``node.chain`` for types). Runs on the chain
thread. Every rule ``ChainState.accept_block`` applies runs here except the proof of work:
header and body sanity, the parent must be our tip (Core's ``inconclusive-not-best-prevblk``
otherwise), difficulty bits and timestamps, the coinbase's height and finality, then every
input, amount and signature against the UTXO set through an overlay that is thrown away.
Nothing is stored. A pool or a miner that changed a template (its own transaction selection,
say) checks its block before spending work on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from consensus.block import Block
from consensus.block_rules import (
    check_block_contextual,
    check_block_sanity,
    check_header_contextual,
)
from consensus.utxo import CoinsOverlay, connect_block

if TYPE_CHECKING:
    from node.chain import ChainState

NOT_BEST_PARENT = "inconclusive_not_best_prevblk"


class ProposalInconclusive(Exception):
    """The proposal does not build on our tip: nothing can be said of it."""

    code = NOT_BEST_PARENT


def check_proposal(chain: ChainState, block: Block, now: int) -> None:
    """Raise the ``ConsensusError`` of the first rule ``block`` breaks, or
    :class:`ProposalInconclusive` when its parent is not our tip; return when it is valid."""
    tip = chain.tip
    if block.header.prev_hash != tip.hash:
        raise ProposalInconclusive("the block does not build on this node's tip")
    params = chain.params
    check_block_sanity(block, params, check_pow=False)
    check_header_contextual(block.header, tip, now, params)
    check_block_contextual(block, tip, params)
    connect_block(block, tip.height + 1, CoinsOverlay(chain.coins), params)
