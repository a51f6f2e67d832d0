"""The wallet: a client of a node's REST API. Never imports ``node`` or ``p2p``."""
