"""Multi-core proof-of-work driver: worker threads around ``consensus.search_nonce``.

May import ``consensus`` and the standard library only; used by the node's built-in miner,
``seedchain mine`` and the Stratum miner client. See ``mining.miner`` for the API and
docs/pow-engine.md for the design; ``mining.bench`` measures it.
"""

from mining.miner import Miner
from mining.work import Chunk, Solution, Work, WorkDispenser

__all__ = ["Chunk", "Miner", "Solution", "Work", "WorkDispenser"]
