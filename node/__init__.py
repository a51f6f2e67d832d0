"""The running node: configuration, storage, chain state, mempool, miner, API.

May import ``consensus``, ``mining`` and ``p2p``; only ``node.server`` wires every part.
"""
