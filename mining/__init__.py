"""Multi-core proof-of-work driver: worker threads around ``consensus.search_nonce``.

May import ``consensus`` and the standard library only; used by the node's built-in miner,
``seedchain mine`` and the Stratum miner client.
"""
